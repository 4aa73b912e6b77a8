#include "workerfleet.h"

#include "parentdeath.h"

#include <QDeadlineTimer>
#include <QFile>

#include <algorithm>

namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr int kReapTimeoutMs = 10000;

// Reads the worker's stdout, its one line, until it says it is ready.
bool waitReady(QProcess& process, std::chrono::milliseconds timeout)
{
    const QDeadlineTimer deadline(timeout);
    QByteArray output;
    while (!(output += process.readAll()).contains("ready")) {
        if (process.state() != QProcess::Running || deadline.hasExpired() ||
            !process.waitForReadyRead(static_cast<int>(deadline.remainingTime()))) {
            return false;
        }
    }
    return true;
}

} // namespace

WorkerFleet::WorkerFleet(Settings settings)
    : m_settings(std::move(settings))
    , m_random(m_settings.seed)
{}

WorkerFleet::~WorkerFleet()
{
    for (Member& member : m_members) {
        member.process->kill();
        member.process->waitForFinished(kReapTimeoutMs);
    }
}

bool WorkerFleet::start()
{
    bool ok = true;
    while (static_cast<int>(m_members.size()) < m_settings.count) {
        ok = startOne() && ok;
    }
    return ok;
}

bool WorkerFleet::startOne()
{
    const int number = ++m_started;
    const QString base = QStringLiteral("%1/worker-%2").arg(m_settings.directory).arg(number);
    auto process = std::make_unique<QProcess>();
    killWithParent(*process);
    process->setStandardErrorFile(base + QStringLiteral(".err"));
    QStringList command = m_settings.launcher;
    command << m_settings.program;
    for (const QString& backend : m_settings.backends) {
        command << QStringLiteral("--broker") << backend;
    }
    command << QStringLiteral("--log") << base + QStringLiteral(".log")
            << QStringLiteral("--heartbeat-ms") << QString::number(m_settings.heartbeat.count())
            << QStringLiteral("--liveness") << QString::number(m_settings.liveness)
            << QStringLiteral("--seed")
            << QString::number(m_settings.seed + static_cast<std::uint64_t>(number));
    process->start(command.takeFirst(), command);
    m_logFiles << base + QStringLiteral(".log");
    const bool started = process->waitForStarted(kStartTimeoutMs);
    if (!started) {
        m_problems << QStringLiteral("worker %1 did not start: %2")
                          .arg(number)
                          .arg(process->errorString());
        // Still a member, so that the next reap replaces it.
    }
    m_members.push_back({std::move(process), number});
    return started;
}

void WorkerFleet::reapExited()
{
    for (auto it = m_members.begin(); it != m_members.end();) {
        if (it->process->state() != QProcess::NotRunning && !it->process->waitForFinished(0)) {
            ++it;
            continue;
        }
        m_problems << QStringLiteral("worker %1 exited unasked (%2, code %3): %4")
                          .arg(it->number)
                          .arg(it->process->exitStatus() == QProcess::CrashExit
                                   ? QStringLiteral("crashed")
                                   : QStringLiteral("exited"))
                          .arg(it->process->exitCode())
                          .arg(stderrOf(it->number));
        it = m_members.erase(it);
    }
}

bool WorkerFleet::killOne()
{
    reapExited();
    if (!m_members.empty()) {
        std::uniform_int_distribution<std::size_t> pick(0, m_members.size() - 1);
        const auto victim = m_members.begin() + static_cast<std::ptrdiff_t>(pick(m_random));
        victim->process->kill();
        // Reaped at once, so that a worker that died of something else is never taken for one
        // we killed.
        victim->process->waitForFinished(kReapTimeoutMs);
        m_members.erase(victim);
        ++m_killed;
    }
    const qsizetype before = m_problems.size();
    start();
    return m_problems.size() == before;
}

bool WorkerFleet::stop(std::chrono::milliseconds timeout)
{
    reapExited();
    const qsizetype before = m_problems.size();
    for (Member& member : m_members) {
        // A worker still starting up would die of the signal rather than stop: wait for it.
        if (!waitReady(*member.process, timeout)) {
            m_problems << QStringLiteral("worker %1 did not get ready: %2")
                              .arg(member.number)
                              .arg(stderrOf(member.number));
        }
        member.process->terminate();
    }
    for (Member& member : m_members) {
        QProcess& process = *member.process;
        if (!process.waitForFinished(static_cast<int>(timeout.count()))) {
            m_problems << QStringLiteral("worker %1 did not stop within %2 ms of SIGTERM")
                              .arg(member.number)
                              .arg(timeout.count());
            process.kill();
            process.waitForFinished(kReapTimeoutMs);
        } else if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
            m_problems << QStringLiteral("worker %1 ended with %2 after SIGTERM: %3")
                              .arg(member.number)
                              .arg(process.exitStatus() == QProcess::CrashExit
                                       ? QStringLiteral("a crash")
                                       : QStringLiteral("code %1").arg(process.exitCode()))
                              .arg(stderrOf(member.number));
        }
    }
    m_members.clear();
    return m_problems.size() == before;
}

QString WorkerFleet::stderrOf(int number) const
{
    QFile file(QStringLiteral("%1/worker-%2.err").arg(m_settings.directory).arg(number));
    if (!file.open(QIODevice::ReadOnly)) {
        return QStringLiteral("(no stderr)");
    }
    const QByteArray text = file.readAll().trimmed();
    constexpr qsizetype kShown = 2000;
    return text.isEmpty() ? QStringLiteral("(stderr empty)")
                          : QString::fromLocal8Bit(text.right(kShown));
}
