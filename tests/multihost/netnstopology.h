#pragma once

#include <QString>
#include <QStringList>

// Hosts for tests that need several machines: each host is a Linux network namespace with one
// veth into a bridge (itself in a namespace of its own, so nothing touches the machine's
// network), and the address 10.77.0.N/24 on it. Processes run on a host through launcher();
// the calling thread moves onto one with enter(). Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and
// iproute2; create() says why when it cannot.
//
// The namespaces carry this process's pid in their names, and create() first removes those of
// earlier runs whose process is gone, so a crashed run leaves nothing behind for long.
class NetnsTopology {
public:
    explicit NetnsTopology(int hosts);
    // Deletes the namespaces; processes still running in them lose their network.
    ~NetnsTopology();

    NetnsTopology(const NetnsTopology&) = delete;
    NetnsTopology& operator=(const NetnsTopology&) = delete;

    // False, and problem() says why, when the namespaces cannot be made.
    bool create();
    const QString& problem() const noexcept { return m_problem; }

    // Hosts are numbered from 1.
    QString name(int host) const;
    QString address(int host) const;
    // The program and arguments that run a program on `host`: append the program and its own.
    QStringList launcher(int host) const;

    // Moves the calling thread into `host`'s network namespace. Threads it starts afterwards
    // (a ZeroMQ context's I/O threads among them) are there too; others stay where they are.
    bool enter(int host);
    // Back to the network namespace the thread had before enter().
    void leave();

private:
    bool ip(const QStringList& arguments);
    void removeStale();

    int m_hosts;
    QString m_prefix;
    bool m_created = false;
    int m_originalNamespace = -1;
    QString m_problem;
};
