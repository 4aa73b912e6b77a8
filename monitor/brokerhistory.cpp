#include "brokerhistory.h"

#include "methodtablemodel.h"

namespace switchboard {

BrokerHistory::BrokerHistory(std::int64_t spanMs, QObject* parent)
    : QObject(parent)
    , m_queueDepth(spanMs)
    , m_throughput(spanMs)
    , m_latencyP99(spanMs)
{}

QString BrokerHistory::seriesName(const MethodStats& method)
{
    return method.service + QLatin1Char('.') + MethodTableModel::displayName(method.method);
}

void BrokerHistory::update(const BrokerSnapshot& snapshot)
{
    QVector<TimeSeriesModel::Sample> depths;
    depths.reserve(snapshot.services.size());
    for (const ServiceStats& service : snapshot.services) {
        depths.push_back({service.name, static_cast<double>(service.queueDepth)});
    }
    m_queueDepth.append(snapshot.timeMs, depths);

    QVector<TimeSeriesModel::Sample> rates;
    QVector<TimeSeriesModel::Sample> latencies;
    rates.reserve(snapshot.methods.size());
    for (const MethodStats& method : snapshot.methods) {
        const QString name = seriesName(method);
        rates.push_back({name, method.callsPerSecond});
        // A method without calls in the window has no latency; leaving it out lets its series
        // end once it has been quiet for the whole chart, instead of drawing a fake zero forever.
        if (method.window.total.count > 0) {
            latencies.push_back({name, static_cast<double>(method.window.total.p99Us) / 1000.0});
        }
    }
    m_throughput.append(snapshot.timeMs, rates);
    m_latencyP99.append(snapshot.timeMs, latencies);
}

} // namespace switchboard
