#pragma once

// Reading a Prometheus text exposition back as a user's query would: each sample by its series
// (name with labels, as written), and promtool's verdict on the whole text.

#include <QProcess>
#include <QString>

#include <map>
#include <set>
#include <sstream>
#include <string>

namespace switchboard::test {

class MetricsText {
public:
    explicit MetricsText(const std::string& text)
    {
        std::istringstream lines(text);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.empty() || line[0] == '#') {
                continue;
            }
            const auto space = line.rfind(' ');
            m_samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
        }
    }

    bool has(const std::string& series) const { return m_samples.count(series) != 0; }
    double value(const std::string& series) const
    {
        const auto it = m_samples.find(series);
        return it == m_samples.end() ? -1 : it->second;
    }

    // The sum over every series whose text starts with `prefix`, as sum(name{labels...}) would.
    double sum(const std::string& prefix) const
    {
        double total = 0;
        for (const auto& [series, value] : m_samples) {
            if (series.rfind(prefix, 0) == 0) {
                total += value;
            }
        }
        return total;
    }

    // The values of label `label` in the series of metric `name`.
    std::set<std::string> labelValues(const std::string& name, const std::string& label) const
    {
        std::set<std::string> values;
        const std::string key = label + "=\"";
        for (const auto& [series, value] : m_samples) {
            if (series.rfind(name + "{", 0) != 0) {
                continue;
            }
            const auto at = series.find(key);
            if (at != std::string::npos) {
                const auto begin = at + key.size();
                values.insert(series.substr(begin, series.find('"', begin) - begin));
            }
        }
        return values;
    }

    std::size_t size() const { return m_samples.size(); }

private:
    std::map<std::string, double> m_samples;
};

// What `promtool check metrics` says about `text`: empty when it exits 0 and prints nothing (no
// error, no lint warning), else its exit code and output.
inline QString promtoolProblems(const std::string& text)
{
    QProcess promtool;
    promtool.start(QStringLiteral("/usr/bin/promtool"),
                   {QStringLiteral("check"), QStringLiteral("metrics")});
    if (!promtool.waitForStarted(10000)) {
        return QStringLiteral("promtool did not start: ") + promtool.errorString();
    }
    promtool.write(text.data(), static_cast<qint64>(text.size()));
    promtool.closeWriteChannel();
    if (!promtool.waitForFinished(60000)) {
        promtool.kill();
        promtool.waitForFinished();
        return QStringLiteral("promtool did not finish within 60 s");
    }
    const QString output =
        QString::fromUtf8(promtool.readAllStandardOutput() + promtool.readAllStandardError())
            .trimmed();
    if (promtool.exitStatus() == QProcess::NormalExit && promtool.exitCode() == 0 &&
        output.isEmpty()) {
        return {};
    }
    return QStringLiteral("exit code %1: %2").arg(promtool.exitCode()).arg(output);
}

} // namespace switchboard::test
