#pragma once

#include <QString>
#include <QStringList>

#include <cstdint>
#include <map>
#include <string>

class ChaosLoad;

// The verdict of a chaos run, from what the clients were told (ChaosLoad's records) and what
// the workers did (their execution logs, one line "call_id idempotent steady_ns" per
// execution; a torn last line is a write that a SIGKILL cut short, before the call could run).
class ChaosTally {
public:
    // Reads the logs; read once every call has ended, or after ChaosLoad::abandon().
    ChaosTally(const ChaosLoad& load, const QStringList& logFiles);

    std::int64_t sent = 0;
    std::int64_t replied = 0;
    // Errors by kind: "WorkerLost", "ConnectionLost", "TimeoutError", "untyped ..."...
    std::map<std::string, std::int64_t> errors;
    // Calls that ended in neither a reply nor a typed error (never, or with an exception that
    // is no switchboard::Error).
    std::int64_t lost = 0;
    // Non-idempotent calls that ran more than once, plus calls the library ended more than once.
    std::int64_t duplicates = 0;
    // Idempotent calls that did not end in a reply.
    std::int64_t idempotentFailed = 0;
    std::map<std::string, std::int64_t> idempotentFailures; // by kind
    // Replies that were not the call's id (or did not decode), and executions whose arguments
    // were not those of the call.
    std::int64_t wrongValues = 0;

    // Not verdicts, but what the lead engineer wants to see.
    std::int64_t executions = 0;
    // Idempotent calls that ran more than once (allowed).
    std::int64_t idempotentRerun = 0;
    // Calls that failed and never ran (the error said "may have run"; it did not).
    std::int64_t failedUnrun = 0;
    // Executions that started after their call's deadline had passed.
    std::int64_t lateExecutions = 0;
    // Replied calls that no log shows running: the logs are incomplete, so the tally is void.
    std::int64_t repliedUnlogged = 0;
    std::int64_t tornLines = 0;

    // A few examples of each violation, for the failure message.
    QStringList examples;
    // Problems with the logs themselves (unreadable, malformed lines).
    QStringList logProblems;

    // The one result line, without the run's own figures (wall time, kills, restarts).
    QString line() const;

private:
    void addExample(const QString& kind, const QString& text);
    std::map<QString, int> m_examplesByKind;
};
