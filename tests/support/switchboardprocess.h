#pragma once

#include <QDeadlineTimer>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <chrono>
#include <utility>

// The `switchboard` executable as a child process of a test: starts it, reads the endpoints it
// announces, and makes sure it never outlives the test, even when a QVERIFY returns early.
// Used by tests/app and tests/interop.
class SwitchboardProcess {
public:
    explicit SwitchboardProcess(QString program)
        : m_program(std::move(program))
    {
        m_process.setProgram(m_program);
    }

    ~SwitchboardProcess() { stop(); }

    SwitchboardProcess(const SwitchboardProcess&) = delete;
    SwitchboardProcess& operator=(const SwitchboardProcess&) = delete;

    void start(const QStringList& arguments)
    {
        m_process.setArguments(arguments);
        m_process.start();
    }

    // Reads stdout until the "switchboard ready" line. Returns false if the process exits or the
    // deadline passes first; stderrText() then says why.
    bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10))
    {
        if (!m_process.waitForStarted(static_cast<int>(timeout.count())))
            return false;
        const QDeadlineTimer deadline(timeout);
        while (!m_ready) {
            while (m_process.canReadLine())
                parseLine(QString::fromUtf8(m_process.readLine()).trimmed());
            if (m_ready)
                break;
            if (m_process.state() != QProcess::Running || deadline.hasExpired())
                return false;
            m_process.waitForReadyRead(static_cast<int>(deadline.remainingTime()));
        }
        return true;
    }

    // Graceful first (SIGTERM), then SIGKILL: a test never leaves a broker behind.
    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate();
        if (!m_process.waitForFinished(3000)) {
            m_process.kill();
            m_process.waitForFinished(3000);
        }
    }

    QProcess& process() { return m_process; }
    const QStringList& frontends() const { return m_frontends; }
    const QStringList& backends() const { return m_backends; }
    const QStringList& admins() const { return m_admins; }
    QStringList stdoutLines() const { return m_lines; }
    QString stderrText() { return m_stderr += QString::fromUtf8(m_process.readAllStandardError()); }

    // Reads whatever is left on stdout and stderr once the process has finished.
    QStringList remainingStdoutLines()
    {
        for (const QString& line : QString::fromUtf8(m_process.readAllStandardOutput()).split('\n'))
            if (!line.isEmpty())
                m_lines << line.trimmed();
        return m_lines;
    }

private:
    void parseLine(const QString& line)
    {
        m_lines << line;
        if (line.startsWith(QLatin1String("frontend ")))
            m_frontends << line.mid(9);
        else if (line.startsWith(QLatin1String("backend ")))
            m_backends << line.mid(8);
        else if (line.startsWith(QLatin1String("admin ")))
            m_admins << line.mid(6);
        else if (line.startsWith(QLatin1String("switchboard ready")))
            m_ready = true;
    }

    QString m_program;
    QProcess m_process;
    QStringList m_lines;
    QStringList m_frontends;
    QStringList m_backends;
    QStringList m_admins;
    QString m_stderr;
    bool m_ready = false;
};
