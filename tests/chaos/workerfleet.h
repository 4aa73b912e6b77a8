#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

// The worker processes of the chaos run: `count` chaos_worker processes kept running, of which
// killOne() kills a random one with SIGKILL and starts a fresh one in its place. Each process
// writes its execution log (and its stderr) to a file of its own in `directory`, named after
// its start number, so the logs of killed workers stay for the tally.
//
// Every child dies with the test process (killWithParent), and the destructor kills what runs.
class WorkerFleet {
public:
    struct Settings {
        QString program;
        QStringList backends; // each worker keeps a session with every one
        // Prepended to the worker's command line, to run it elsewhere ("ip netns exec HOST").
        QStringList launcher;
        QString directory;
        int count = 4;
        std::chrono::milliseconds heartbeat{250};
        int liveness = 3;
        std::uint64_t seed = 1;
    };

    explicit WorkerFleet(Settings settings);
    ~WorkerFleet();

    WorkerFleet(const WorkerFleet&) = delete;
    WorkerFleet& operator=(const WorkerFleet&) = delete;

    // Starts `count` workers; false (and problems() says why) if one does not start.
    bool start();
    // SIGKILL to a random worker, and a new one in its place. Workers that exited on their
    // own since the last call are replaced too, and reported in problems().
    bool killOne();
    // SIGTERM to every worker: each must exit with code 0 within `timeout`, or problems() says
    // which did not (and it is killed).
    bool stop(std::chrono::milliseconds timeout);

    int started() const noexcept { return m_started; }
    int killed() const noexcept { return m_killed; }
    QStringList logFiles() const { return m_logFiles; }
    // Workers that exited unasked, did not start, or did not stop cleanly, with their stderr.
    const QStringList& problems() const noexcept { return m_problems; }

private:
    struct Member {
        std::unique_ptr<QProcess> process;
        int number = 0;
    };

    bool startOne();
    void reapExited();
    QString stderrOf(int number) const;

    Settings m_settings;
    std::mt19937_64 m_random;
    std::vector<Member> m_members;
    QStringList m_logFiles;
    QStringList m_problems;
    int m_started = 0;
    int m_killed = 0;
};
