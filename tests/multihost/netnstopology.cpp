#include "netnstopology.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {

const QString kStalePrefix = QStringLiteral("sbmh");
constexpr int kCommandTimeoutMs = 10000;

QString bridgeName()
{
    return QStringLiteral("lan");
}

} // namespace

NetnsTopology::NetnsTopology(int hosts)
    : m_hosts(hosts)
    , m_prefix(kStalePrefix + QString::number(QCoreApplication::applicationPid()))
{}

NetnsTopology::~NetnsTopology()
{
    leave();
    if (!m_created) {
        return;
    }
    // Deleting a namespace deletes the veth ends in it, and with them their peers.
    for (int host = 1; host <= m_hosts; ++host) {
        ip({QStringLiteral("netns"), QStringLiteral("delete"), name(host)});
    }
    ip({QStringLiteral("netns"), QStringLiteral("delete"), m_prefix + QStringLiteral("-lan")});
}

QString NetnsTopology::name(int host) const
{
    return m_prefix + QStringLiteral("-h") + QString::number(host);
}

QString NetnsTopology::address(int host) const
{
    return QStringLiteral("10.77.0.%1").arg(host);
}

QStringList NetnsTopology::launcher(int host) const
{
    return {QStringLiteral("ip"), QStringLiteral("netns"), QStringLiteral("exec"), name(host)};
}

bool NetnsTopology::ip(const QStringList& arguments)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral("ip"), arguments);
    if (!process.waitForStarted(kCommandTimeoutMs)) {
        m_problem = QStringLiteral("cannot run ip (iproute2): %1").arg(process.errorString());
        return false;
    }
    if (!process.waitForFinished(kCommandTimeoutMs) ||
        process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        m_problem = QStringLiteral("ip %1 failed: %2")
                        .arg(arguments.join(QLatin1Char(' ')),
                             QString::fromLocal8Bit(process.readAll()).trimmed());
        return false;
    }
    return true;
}

void NetnsTopology::removeStale()
{
    static const QRegularExpression pattern(QStringLiteral("^%1(\\d+)-").arg(kStalePrefix));
    const QStringList entries = QDir(QStringLiteral("/run/netns")).entryList(QDir::Files);
    for (const QString& entry : entries) {
        const auto match = pattern.match(entry);
        if (match.hasMatch() && !QFile::exists(QStringLiteral("/proc/") + match.captured(1))) {
            ip({QStringLiteral("netns"), QStringLiteral("delete"), entry});
        }
    }
}

bool NetnsTopology::create()
{
    if (geteuid() != 0) {
        m_problem = QStringLiteral("network namespaces need root (this test runs as uid %1)")
                        .arg(geteuid());
        return false;
    }
    removeStale();
    const QString lan = m_prefix + QStringLiteral("-lan");
    if (!ip({QStringLiteral("netns"), QStringLiteral("add"), lan})) {
        return false;
    }
    m_created = true;
    for (int host = 1; host <= m_hosts; ++host) {
        if (!ip({QStringLiteral("netns"), QStringLiteral("add"), name(host)})) {
            return false;
        }
    }
    const QStringList inLan{QStringLiteral("-n"), lan};
    if (!ip(inLan + QStringList{QStringLiteral("link"), QStringLiteral("add"), bridgeName(),
                                QStringLiteral("type"), QStringLiteral("bridge")}) ||
        !ip(inLan + QStringList{QStringLiteral("link"), QStringLiteral("set"), bridgeName(),
                                QStringLiteral("up")})) {
        return false;
    }
    for (int host = 1; host <= m_hosts; ++host) {
        // Made in this namespace and moved at once; the short names need not be unique
        // anywhere else.
        const QString hostEnd = QStringLiteral("%1h%2").arg(m_prefix).arg(host).right(15);
        const QString lanEnd = QStringLiteral("%1l%2").arg(m_prefix).arg(host).right(15);
        const QStringList onHost{QStringLiteral("-n"), name(host)};
        if (!ip({QStringLiteral("link"), QStringLiteral("add"), hostEnd, QStringLiteral("type"),
                 QStringLiteral("veth"), QStringLiteral("peer"), QStringLiteral("name"), lanEnd}) ||
            !ip({QStringLiteral("link"), QStringLiteral("set"), hostEnd, QStringLiteral("netns"),
                 name(host)}) ||
            !ip({QStringLiteral("link"), QStringLiteral("set"), lanEnd, QStringLiteral("netns"),
                 lan}) ||
            !ip(inLan + QStringList{QStringLiteral("link"), QStringLiteral("set"), lanEnd,
                                    QStringLiteral("master"), bridgeName(),
                                    QStringLiteral("up")}) ||
            !ip(onHost + QStringList{QStringLiteral("address"), QStringLiteral("add"),
                                     address(host) + QStringLiteral("/24"), QStringLiteral("dev"),
                                     hostEnd}) ||
            !ip(onHost + QStringList{QStringLiteral("link"), QStringLiteral("set"), hostEnd,
                                     QStringLiteral("up")}) ||
            !ip(onHost + QStringList{QStringLiteral("link"), QStringLiteral("set"),
                                     QStringLiteral("lo"), QStringLiteral("up")})) {
            return false;
        }
    }
    return true;
}

bool NetnsTopology::enter(int host)
{
    if (m_originalNamespace < 0) {
        m_originalNamespace = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    }
    const QByteArray path = (QStringLiteral("/run/netns/") + name(host)).toLocal8Bit();
    const int target = ::open(path.constData(), O_RDONLY | O_CLOEXEC);
    if (m_originalNamespace < 0 || target < 0) {
        m_problem = QStringLiteral("cannot open the namespace of host %1: %2")
                        .arg(host)
                        .arg(QString::fromLocal8Bit(std::strerror(errno)));
        if (target >= 0) {
            ::close(target);
        }
        return false;
    }
    const bool entered = ::setns(target, CLONE_NEWNET) == 0;
    if (!entered) {
        m_problem = QStringLiteral("setns into host %1: %2")
                        .arg(host)
                        .arg(QString::fromLocal8Bit(std::strerror(errno)));
    }
    ::close(target);
    return entered;
}

void NetnsTopology::leave()
{
    if (m_originalNamespace >= 0) {
        (void)::setns(m_originalNamespace, CLONE_NEWNET);
        ::close(m_originalNamespace);
        m_originalNamespace = -1;
    }
}
