#include "chaostally.h"

#include "chaosload.h"

#include <QFile>

#include <algorithm>
#include <vector>

namespace {

constexpr int kExamplesPerKind = 5;

struct Execution {
    std::int64_t callId = 0;
    bool idempotent = false;
    std::int64_t startedNs = 0;
};

// "call_id idempotent steady_ns"; false for anything else.
bool parseLine(const QByteArray& line, Execution& execution)
{
    const QList<QByteArray> fields = line.split(' ');
    if (fields.size() != 3) {
        return false;
    }
    bool idOk = false;
    bool flagOk = false;
    bool timeOk = false;
    execution.callId = fields[0].toLongLong(&idOk);
    const int flag = fields[1].toInt(&flagOk);
    execution.startedNs = fields[2].toLongLong(&timeOk);
    execution.idempotent = flag == 1;
    return idOk && flagOk && timeOk && (flag == 0 || flag == 1);
}

} // namespace

ChaosTally::ChaosTally(const ChaosLoad& load, const QStringList& logFiles)
{
    const std::int64_t requests = load.requests();
    std::vector<std::uint32_t> runs(static_cast<std::size_t>(requests), 0);
    for (const QString& path : logFiles) {
        QFile file(path);
        if (!file.exists()) {
            continue; // a worker killed before it opened its log ran nothing
        }
        if (!file.open(QIODevice::ReadOnly)) {
            logProblems << QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
            continue;
        }
        const QByteArray content = file.readAll();
        QList<QByteArray> lines = content.split('\n');
        // After the last newline: empty, or a line whose write a SIGKILL cut short.
        if (!lines.isEmpty()) {
            if (!lines.last().isEmpty()) {
                ++tornLines;
            }
            lines.removeLast();
        }
        for (const QByteArray& line : lines) {
            Execution execution;
            if (!parseLine(line, execution) || execution.callId < 0 ||
                execution.callId >= requests) {
                logProblems << QStringLiteral("%1: unexpected line '%2'")
                                   .arg(path, QString::fromLatin1(line.left(80)));
                continue;
            }
            ++executions;
            ++runs[static_cast<std::size_t>(execution.callId)];
            const CallRecord& record = load.record(execution.callId);
            if (execution.idempotent != ChaosLoad::isIdempotent(execution.callId)) {
                ++wrongValues;
                addExample(QStringLiteral("wrong arguments"),
                           QStringLiteral("call %1 ran with idempotent=%2")
                               .arg(execution.callId)
                               .arg(execution.idempotent));
            }
            if (record.deadlineNs != 0 && execution.startedNs > record.deadlineNs) {
                ++lateExecutions;
            }
        }
    }

    sent = load.issued();
    for (std::int64_t id = 0; id < requests; ++id) {
        const CallRecord& record = load.record(id);
        const bool idempotent = ChaosLoad::isIdempotent(id);
        const std::uint32_t ran = runs[static_cast<std::size_t>(id)];
        const std::uint32_t endings = record.endings.load();
        const int outcome = id < sent ? record.outcome.load() : CallRecord::kNotEnded;
        const QString name = QString::fromStdString(load.outcomeName(outcome));

        if (endings > 1) {
            ++duplicates;
            addExample(QStringLiteral("answered twice"),
                       QStringLiteral("call %1 ended %2 times").arg(id).arg(endings));
        }
        if (!idempotent && ran > 1) {
            ++duplicates;
            addExample(QStringLiteral("duplicate execution"),
                       QStringLiteral("non-idempotent call %1 ran %2 times, and ended as %3")
                           .arg(id)
                           .arg(ran)
                           .arg(name));
        }
        if (idempotent && ran > 1) {
            ++idempotentRerun;
        }
        if (outcome == CallRecord::kReplied) {
            ++replied;
            if (record.value.load() != id) {
                ++wrongValues;
                addExample(QStringLiteral("wrong value"),
                           QStringLiteral("call %1 replied %2").arg(id).arg(record.value.load()));
            }
            if (ran == 0) {
                ++repliedUnlogged;
                addExample(QStringLiteral("replied but in no log"),
                           QStringLiteral("call %1").arg(id));
            }
            continue;
        }
        if (outcome != CallRecord::kNotEnded) {
            ++errors[load.outcomeName(outcome)];
            if (name == QLatin1String("DecodeError")) {
                ++wrongValues;
            }
            if (ran == 0) {
                ++failedUnrun;
            }
        }
        const bool typed = outcome != CallRecord::kNotEnded && load.isTypedError(outcome);
        const QString why = QString::fromStdString(load.errorText(id));
        if (!typed && id < sent) {
            ++lost;
            addExample(QStringLiteral("lost"),
                       QStringLiteral("%1 call %2 (ran %3 times): %4%5")
                           .arg(idempotent ? QStringLiteral("idempotent")
                                           : QStringLiteral("non-idempotent"))
                           .arg(id)
                           .arg(ran)
                           .arg(name)
                           .arg(why.isEmpty() ? QString() : QStringLiteral(": ") + why));
        }
        if (idempotent) {
            ++idempotentFailed;
            ++idempotentFailures[load.outcomeName(outcome)];
            addExample(QStringLiteral("idempotent failed"),
                       QStringLiteral("call %1 (ran %2 times): %3%4")
                           .arg(id)
                           .arg(ran)
                           .arg(name)
                           .arg(why.isEmpty() ? QString() : QStringLiteral(": ") + why));
        }
    }
}

QString ChaosTally::line() const
{
    // The usual kinds always, zeros too, so that lines of different runs line up; then any
    // other kind that occurred.
    static const std::vector<std::string> kUsual{"WorkerLost", "ConnectionLost", "TimeoutError",
                                                 "QueueFull", "ServiceUnavailable"};
    QStringList kinds;
    std::int64_t errorCount = 0;
    for (const std::string& kind : kUsual) {
        const auto it = errors.find(kind);
        kinds << QStringLiteral("%1 %2")
                     .arg(QString::fromStdString(kind))
                     .arg(it == errors.end() ? 0 : it->second);
    }
    for (const auto& [kind, count] : errors) {
        errorCount += count;
        if (std::find(kUsual.begin(), kUsual.end(), kind) == kUsual.end()) {
            kinds << QStringLiteral("%1 %2").arg(QString::fromStdString(kind)).arg(count);
        }
    }
    QStringList failures;
    for (const auto& [kind, count] : idempotentFailures) {
        failures << QStringLiteral("%1 %2").arg(QString::fromStdString(kind)).arg(count);
    }
    const QString failed = failures.isEmpty() ? QStringLiteral("0")
                                              : QStringLiteral("%1 (%2)")
                                                    .arg(idempotentFailed)
                                                    .arg(failures.join(QStringLiteral(", ")));
    return QStringLiteral("sent %1, replied %2, errors %3 (%4), lost %5, duplicates %6, "
                          "idempotent failed %7, wrong values %8 | executions %9, idempotent "
                          "re-run %10, failed unrun %11, executed after deadline %12")
        .arg(sent)
        .arg(replied)
        .arg(errorCount)
        .arg(kinds.join(QStringLiteral(", ")))
        .arg(lost)
        .arg(duplicates)
        .arg(failed)
        .arg(wrongValues)
        .arg(executions)
        .arg(idempotentRerun)
        .arg(failedUnrun)
        .arg(lateExecutions);
}

void ChaosTally::addExample(const QString& kind, const QString& text)
{
    if (m_examplesByKind[kind]++ < kExamplesPerKind) {
        examples << kind + QStringLiteral(": ") + text;
    }
}
