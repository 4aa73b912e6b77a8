#pragma once

#include <QString>

#include <variant>
#include <vector>

namespace switchboard {

// One `option = value` line of a config file.
struct ConfigLine {
    QString option; // as written, without "--"
    QString value;  // trimmed; may be empty
    int line = 0;   // 1-based
};

// The broker's config file read as lines of `option = value`: `#` starts a comment (at the start
// of a line, or after white space), blank lines are skipped. It knows nothing of the options
// themselves; ConfigSources checks the names and values against the broker's option table.
class ConfigFile {
public:
    // Reads `path`, or says why it cannot ("PATH: what is wrong").
    [[nodiscard]] static std::variant<ConfigFile, QString> read(const QString& path);
    // The same for text already read; `path` names it in errors.
    [[nodiscard]] static std::variant<ConfigFile, QString> parse(const QString& path,
                                                                 const QString& text);

    const QString& path() const { return m_path; }
    const std::vector<ConfigLine>& lines() const { return m_lines; }
    // "PATH:LINE", how errors and --print-config name a line.
    QString location(int line) const;

private:
    QString m_path;
    std::vector<ConfigLine> m_lines;
};

} // namespace switchboard
