#pragma once

#include "timeseriesmodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

#include <QObject>

namespace switchboard {

// The last minutes of the broker as the charts show them: queue depth per service, calls/s and
// p99 latency (ms) per method, each a TimeSeriesModel fed one row per snapshot. Methods are named
// "service.method".
class BrokerHistory : public QObject {
    Q_OBJECT
public:
    explicit BrokerHistory(std::int64_t spanMs = TimeSeriesModel::kDefaultSpanMs,
                           QObject* parent = nullptr);

    void update(const BrokerSnapshot& snapshot);

    TimeSeriesModel* queueDepth() { return &m_queueDepth; }
    TimeSeriesModel* throughput() { return &m_throughput; }
    TimeSeriesModel* latencyP99() { return &m_latencyP99; }

    static QString seriesName(const MethodStats& method);

private:
    TimeSeriesModel m_queueDepth;
    TimeSeriesModel m_throughput;
    TimeSeriesModel m_latencyP99;
};

} // namespace switchboard
