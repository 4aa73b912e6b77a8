#include "chaosbroker.h"

#include "parentdeath.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>

namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(20);
constexpr int kExitTimeoutMs = 10000;
// How long a restart keeps trying to bind the old ports: the old process is gone, so only a
// stranger that took a port meanwhile could hold it, and retrying will not help for long.
constexpr int kRebindTimeoutMs = 5000;

} // namespace

ChaosBroker::ChaosBroker(QString program, QString logFile, std::chrono::milliseconds heartbeat,
                         int liveness, BrokerPlacement placement)
    : m_program(std::move(program))
    , m_placement(std::move(placement))
    , m_logFile(std::move(logFile))
    , m_heartbeat(heartbeat)
    , m_liveness(liveness)
{}

ChaosBroker::~ChaosBroker() = default; // SwitchboardProcess stops what still runs

bool ChaosBroker::start()
{
    const QString wildcard = QStringLiteral("tcp://%1:*").arg(m_placement.host);
    if (!launch(wildcard, wildcard)) {
        return false;
    }
    m_frontend = m_process->frontends().value(0);
    m_backend = m_process->backends().value(0);
    if (m_frontend.isEmpty() || m_backend.isEmpty()) {
        m_problems << QStringLiteral("the broker announced no frontend or backend endpoint");
        return false;
    }
    return true;
}

bool ChaosBroker::launch(const QString& frontend, const QString& backend)
{
    QStringList command = m_placement.launcher;
    command << m_program;
    m_process = std::make_unique<SwitchboardProcess>(command.takeFirst());
    QProcess& process = m_process->process();
    killWithParent(process);
    process.setStandardErrorFile(m_logFile, QIODevice::Append);
    // "ip netns exec" execs the broker, so the child's pid is the broker's and a SIGKILL
    // reaches it.
    m_process->start(
        command + QStringList{QStringLiteral("--no-gui"), QStringLiteral("--no-admin"),
                              QStringLiteral("--frontend"), frontend, QStringLiteral("--backend"),
                              backend, QStringLiteral("--heartbeat-ms"),
                              QString::number(m_heartbeat.count()), QStringLiteral("--liveness"),
                              QString::number(m_liveness)});
    if (m_process->waitReady(kReadyTimeout)) {
        return true;
    }
    m_problems << QStringLiteral("the broker on %1 / %2 did not get ready: exit code %3; its log "
                                 "ends with: %4")
                      .arg(frontend, backend)
                      .arg(process.state() == QProcess::NotRunning ? process.exitCode() : -1)
                      .arg(logTail());
    return false;
}

bool ChaosBroker::kill()
{
    m_process->process().kill();
    if (!m_process->process().waitForFinished(kExitTimeoutMs)) {
        m_problems << QStringLiteral("the broker did not die of SIGKILL");
        return false;
    }
    m_down.start();
    return true;
}

bool ChaosBroker::restart(Stop how)
{
    if (how == Stop::Terminate) {
        m_down.start();
        if (!terminate("at the restart")) {
            return false;
        }
    } else if (!kill()) {
        return false;
    }
    return restartKilled();
}

bool ChaosBroker::restartKilled()
{
    // Retried only for a port that a stranger took in the gap; every failed attempt is a
    // process that started and exited, so the loop is paced by that.
    const QDeadlineTimer deadline(kRebindTimeoutMs);
    const qsizetype problemsBefore = m_problems.size();
    while (!launch(m_frontend, m_backend)) {
        if (deadline.hasExpired()) {
            m_problems << QStringLiteral("could not restart the broker on %1 / %2 within %3 ms")
                              .arg(m_frontend, m_backend)
                              .arg(kRebindTimeoutMs);
            return false;
        }
    }
    // The attempts that failed but were retried are not problems of the run.
    while (m_problems.size() > problemsBefore) {
        m_problems.removeLast();
    }
    m_downtime = std::chrono::milliseconds(m_down.elapsed());
    return true;
}

bool ChaosBroker::stop()
{
    return terminate("at the end");
}

bool ChaosBroker::terminate(const char* when)
{
    QProcess& process = m_process->process();
    if (process.state() == QProcess::NotRunning) {
        m_problems
            << QStringLiteral("the broker was gone before SIGTERM %1").arg(QLatin1String(when));
        return false;
    }
    process.terminate();
    if (!process.waitForFinished(kExitTimeoutMs)) {
        m_problems << QStringLiteral("the broker did not exit within %1 ms of SIGTERM %2")
                          .arg(kExitTimeoutMs)
                          .arg(QLatin1String(when));
        return false;
    }
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        m_problems << QStringLiteral("the broker ended with %1 after SIGTERM %2; its log ends "
                                     "with: %3")
                          .arg(process.exitStatus() == QProcess::CrashExit
                                   ? QStringLiteral("a crash")
                                   : QStringLiteral("exit code %1").arg(process.exitCode()))
                          .arg(QLatin1String(when), logTail());
        return false;
    }
    return true;
}

bool ChaosBroker::isRunning()
{
    return m_process && m_process->process().state() == QProcess::Running;
}

QString ChaosBroker::logTail() const
{
    QFile file(m_logFile);
    if (!file.open(QIODevice::ReadOnly)) {
        return QStringLiteral("(no log)");
    }
    constexpr qsizetype kShown = 3000;
    return QString::fromLocal8Bit(file.readAll().right(kShown).trimmed());
}
