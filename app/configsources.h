#pragma once

#include "configfile.h"

#include <QCommandLineParser>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <cstddef>
#include <optional>
#include <vector>

namespace switchboard {

// What merging needs to know of one option of the broker's table.
struct ConfigOption {
    QString name;           // the long name, without "--"
    bool takesValue = true; // false: a switch
    bool repeatable = false;
};

// Each option's values from the config file, the SWITCHBOARD_<OPTION> variables and the command
// line, with where they came from. Per option the highest source wins (command line >
// environment > file > default), and a repeatable option's values come whole from it. The values
// are not checked here beyond their form (a switch's true/false): arguments() turns them into a
// command line for the options' own checks, and where() names the source of a failed check.
class ConfigSources {
public:
    enum class Source { Default, File, Environment, CommandLine };

    explicit ConfigSources(std::vector<ConfigOption> options);

    // Each add returns the error, empty when fine, naming the line or variable and what to do.
    // Add them from the lowest source to the highest.
    [[nodiscard]] QString addFile(const ConfigFile& file);
    // `warnings` gets one line per SWITCHBOARD_* variable that looks like a misspelt option.
    [[nodiscard]] QString addEnvironment(const QProcessEnvironment& environment,
                                         QStringList& warnings);
    void addCommandLine(const QCommandLineParser& parser);

    // The command line equivalent to the options from a source other than the default, for the
    // options' own parser: "--name" for a switch that is on, "--name=value" for each value.
    QStringList arguments(const QString& program) const;

    Source source(std::size_t option) const { return m_resolved[option].source; }
    // The values as given (a switch: "true" or "false"); none when the default stands.
    const QStringList& values(std::size_t option) const { return m_resolved[option].values; }
    // Where the option's `index`th value came from: "default", "command line",
    // "SWITCHBOARD_MAX_QUEUE", "/etc/switchboard/switchboard.conf:12".
    QString where(std::size_t option, qsizetype index = 0) const;

    // The effective configuration in the config file's format: one `name = value` line per value
    // of `effective` (one list per option, in table order), each followed by a comment saying
    // where it came from; an option without a value is commented out.
    QString configText(const std::vector<QStringList>& effective) const;

    // "SWITCHBOARD_MAX_QUEUE" for "max-queue".
    static QString variableName(const QString& option);
    // Whether `text` is a switch's value, and which: true/false, yes/no, on/off, 1/0.
    static std::optional<bool> switchValue(const QString& text);

private:
    struct Resolved {
        Source source = Source::Default;
        QStringList values;
        QStringList where; // one per value, or a single one for all
    };

    // The option named `name`, or the size of the table.
    std::size_t find(const QString& name) const;
    // The option whose name is nearest to `name` (a typo away), or the size of the table.
    std::size_t nearest(const QString& name) const;
    // "frontend, backend, admin": the options a file may give on several lines.
    QString repeatableNames() const;

    std::vector<ConfigOption> m_options;
    std::vector<Resolved> m_resolved;
};

} // namespace switchboard
