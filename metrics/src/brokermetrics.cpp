#include <switchboard/metrics/brokermetrics.h>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <vector>

namespace switchboard::metrics {

std::string exposition(const BrokerSnapshot& snapshot, const BrokerCounters& /*counters*/)
{
    prometheus::MetricFamily buildInfo{"switchboard_build_info",
                                       "The broker's version; always 1.",
                                       prometheus::MetricType::Gauge,
                                       {}};
    prometheus::ClientMetric metric;
    metric.label.push_back({"version", snapshot.version.toStdString()});
    metric.gauge.value = 1;
    buildInfo.metric.push_back(metric);
    const std::vector<prometheus::MetricFamily> families{buildInfo};
    return prometheus::TextSerializer().Serialize(families);
}

} // namespace switchboard::metrics
