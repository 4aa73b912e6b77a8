#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

QString toString(WorkerStats::State state)
{
    switch (state) {
    case WorkerStats::State::Idle:
        return QStringLiteral("idle");
    case WorkerStats::State::Busy:
        return QStringLiteral("busy");
    case WorkerStats::State::Late:
        return QStringLiteral("late");
    case WorkerStats::State::Expired:
        return QStringLiteral("expired");
    }
    return QStringLiteral("unknown");
}

QString toString(BrokerEvent::Kind kind)
{
    switch (kind) {
    case BrokerEvent::Kind::WorkerJoined:
        return QStringLiteral("worker joined");
    case BrokerEvent::Kind::WorkerLeft:
        return QStringLiteral("worker left");
    case BrokerEvent::Kind::WorkerExpired:
        return QStringLiteral("worker expired");
    case BrokerEvent::Kind::WorkerEvicted:
        return QStringLiteral("worker evicted");
    case BrokerEvent::Kind::WorkerDisconnected:
        return QStringLiteral("worker disconnected");
    case BrokerEvent::Kind::RequestExpired:
        return QStringLiteral("request expired");
    case BrokerEvent::Kind::ProtocolError:
        return QStringLiteral("protocol error");
    case BrokerEvent::Kind::ClientNotReading:
        return QStringLiteral("client not reading");
    case BrokerEvent::Kind::ClientAtBound:
        return QStringLiteral("client at bound");
    case BrokerEvent::Kind::RepliesDropped:
        return QStringLiteral("answers dropped");
    }
    return QStringLiteral("unknown");
}

} // namespace switchboard
