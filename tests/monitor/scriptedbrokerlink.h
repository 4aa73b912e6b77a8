#pragma once

#include "brokerlink.h"

#include <QList>

namespace switchboard::test {

// Test fixture: a BrokerLink with no broker behind it. The test delivers the snapshots and
// state changes it built, answers commands itself, and reads back the evictions asked for.
class ScriptedBrokerLink : public BrokerLink {
    Q_OBJECT
public:
    explicit ScriptedBrokerLink(QString description = QStringLiteral("tcp://127.0.0.1:5557"),
                                State state = State::Connected, QObject* parent = nullptr)
        : BrokerLink(parent)
        , m_description(std::move(description))
        , m_state(state)
    {}

    State state() const override { return m_state; }
    QString description() const override { return m_description; }
    void evictWorker(const QByteArray& identity) override { m_evictions.push_back(identity); }

    void deliver(const BrokerSnapshot& snapshot) { Q_EMIT snapshotReceived(snapshot); }
    void setState(State state)
    {
        m_state = state;
        Q_EMIT stateChanged(state);
    }
    void finishCommand(const QString& command, bool ok, const QString& message = {})
    {
        Q_EMIT commandFinished(command, ok, message);
    }
    const QList<QByteArray>& evictions() const { return m_evictions; }

private:
    QString m_description;
    State m_state;
    QList<QByteArray> m_evictions;
};

} // namespace switchboard::test
