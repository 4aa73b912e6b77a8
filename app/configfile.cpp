#include "configfile.h"

#include <QFile>
#include <QRegularExpression>

namespace switchboard {

std::variant<ConfigFile, QString> ConfigFile::read(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        return QStringLiteral("%1: cannot read the config file: %2").arg(path, file.errorString());
    }
    return parse(path, QString::fromUtf8(file.readAll()));
}

std::variant<ConfigFile, QString> ConfigFile::parse(const QString& path, const QString& text)
{
    // A '#' after white space starts a comment, so --print-config can say where each value came
    // from on its own line; a '#' inside a value (an ipc:// path with one) needs no space before.
    static const QRegularExpression trailingComment(QStringLiteral("(^|\\s)#.*$"));
    ConfigFile file;
    file.m_path = path;
    const QStringList rows = text.split(QLatin1Char('\n'));
    for (qsizetype index = 0; index < rows.size(); ++index) {
        const int number = static_cast<int>(index) + 1;
        QString row = rows[index];
        row.remove(trailingComment);
        row = row.trimmed();
        if (row.isEmpty()) {
            continue;
        }
        const qsizetype equals = row.indexOf(QLatin1Char('='));
        if (equals < 0) {
            return QStringLiteral("%1: '%2' is not 'option = value' (no '='); comment it out "
                                  "with '#' if it is a note")
                .arg(file.location(number), row);
        }
        ConfigLine line{row.left(equals).trimmed(), row.mid(equals + 1).trimmed(), number};
        if (line.option.isEmpty()) {
            return QStringLiteral("%1: no option name before '='").arg(file.location(number));
        }
        if (line.option.startsWith(QLatin1Char('-'))) {
            QString bare = line.option;
            while (bare.startsWith(QLatin1Char('-'))) {
                bare.remove(0, 1);
            }
            return QStringLiteral("%1: write the option without dashes: '%2 = ...', not '%3'")
                .arg(file.location(number), bare, line.option);
        }
        file.m_lines.push_back(std::move(line));
    }
    return file;
}

QString ConfigFile::location(int line) const
{
    return QStringLiteral("%1:%2").arg(m_path).arg(line);
}

} // namespace switchboard
