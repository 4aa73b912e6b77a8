// SystemdNotifier against a fake service manager: a datagram socket where systemd's NOTIFY_SOCKET
// would be. What matters most to an operator is that the watchdog pings come from the thread whose
// event loop they vouch for: when the broker's loop hangs beside a window that still paints, the
// pings must stop, or systemd never restarts the broker.

#include "systemdnotifier.h"

#include <QFile>
#include <QObject>
#include <QSemaphore>
#include <QSocketNotifier>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <chrono>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// The service manager's end: collects every datagram sent to NOTIFY_SOCKET.
class FakeServiceManager : public QObject {
public:
    explicit FakeServiceManager(const QString& path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray native = path.toLocal8Bit();
        qstrncpy(address.sun_path, native.constData(), sizeof(address.sun_path));
        m_bound = ::bind(m_fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
        m_notifier = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
        connect(m_notifier, &QSocketNotifier::activated, this, &FakeServiceManager::drain);
    }
    ~FakeServiceManager() override { ::close(m_fd); }

    // A Unix datagram is in the receiver's queue once sendmsg() returns, so after a drain every
    // datagram sent before it has been counted.
    void drain()
    {
        char buffer[4096];
        ssize_t size = 0;
        while ((size = ::recv(m_fd, buffer, sizeof(buffer), 0)) > 0) {
            m_datagrams << QByteArray(buffer, static_cast<int>(size));
        }
    }

    bool isBound() const { return m_bound; }
    const QList<QByteArray>& datagrams() const { return m_datagrams; }
    int count(const QByteArray& datagram) const
    {
        return static_cast<int>(m_datagrams.count(datagram));
    }

private:
    int m_fd = -1;
    bool m_bound = false;
    QSocketNotifier* m_notifier = nullptr;
    QList<QByteArray> m_datagrams;
};

} // namespace

class TestSystemdNotifier : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_directory.isValid());
        m_path = m_directory.filePath(QStringLiteral("notify"));
        qputenv("NOTIFY_SOCKET", m_path.toLocal8Bit());
        qputenv("WATCHDOG_USEC", "100000");
        qunsetenv("WATCHDOG_PID");
    }

    void cleanup()
    {
        QFile::remove(m_path);
        qunsetenv("NOTIFY_SOCKET");
        qunsetenv("WATCHDOG_USEC");
        qunsetenv("WATCHDOG_PID");
    }

    void outsideSystemdSendsNothing()
    {
        FakeServiceManager manager(m_path);
        QVERIFY(manager.isBound());
        qunsetenv("NOTIFY_SOCKET");
        switchboard::SystemdNotifier notifier;
        QVERIFY(!notifier.isActive());
        QCOMPARE(notifier.watchdogInterval(), 0ms);
        QObject loopOwner;
        notifier.startWatchdog(loopOwner);
        notifier.notifyReady(QStringLiteral("serving"));
        notifier.notifyStopping();
        manager.drain();
        QVERIFY2(manager.datagrams().isEmpty(), manager.datagrams().join(", ").constData());
    }

    void readyCarriesTheStatusOnOneLine()
    {
        FakeServiceManager manager(m_path);
        QVERIFY(manager.isBound());
        switchboard::SystemdNotifier notifier;
        QVERIFY(notifier.isActive());
        notifier.notifyReady(QStringLiteral("frontend tcp://127.0.0.1:5555\nbackend x"));
        QTRY_COMPARE_WITH_TIMEOUT(manager.datagrams().size(), 1, 5000);
        QCOMPARE(manager.datagrams().first(),
                 QByteArray("READY=1\nSTATUS=frontend tcp://127.0.0.1:5555; backend x"));
    }

    void stoppingIsSentOnce()
    {
        FakeServiceManager manager(m_path);
        switchboard::SystemdNotifier notifier;
        notifier.notifyStopping();
        notifier.notifyStopping();
        manager.drain();
        QCOMPARE(manager.datagrams().size(), 1);
        QVERIFY(manager.datagrams().first().startsWith("STOPPING=1\n"));
    }

    void watchdogIntervalIsHalfTheTimeout()
    {
        qputenv("WATCHDOG_USEC", "30000000");
        QCOMPARE(switchboard::SystemdNotifier().watchdogInterval(), 15000ms);
        qunsetenv("WATCHDOG_USEC");
        QCOMPARE(switchboard::SystemdNotifier().watchdogInterval(), 0ms);
        // WATCHDOG_PID names the process the watchdog is meant for; another one must not ping.
        qputenv("WATCHDOG_USEC", "30000000");
        qputenv("WATCHDOG_PID", QByteArray::number(getpid() + 1));
        QCOMPARE(switchboard::SystemdNotifier().watchdogInterval(), 0ms);
    }

    // The broker of the monitor window runs on a thread of its own (BrokerThread); a stall there
    // must stop the pings although this thread's loop goes on.
    void watchdogPingsStopWhenTheOwnersLoopStalls()
    {
        FakeServiceManager manager(m_path);
        QVERIFY(manager.isBound());
        QThread brokerThread;
        brokerThread.start();
        QObject loopOwner;
        loopOwner.moveToThread(&brokerThread);

        switchboard::SystemdNotifier notifier;
        QCOMPARE(notifier.watchdogInterval(), 50ms);
        notifier.startWatchdog(loopOwner);
        QTRY_VERIFY_WITH_TIMEOUT(manager.count("WATCHDOG=1") >= 3, 5000);

        // Stall the owner's loop; once the stall has begun, every ping sent before it is queued.
        QSemaphore stalled;
        QSemaphore release;
        QMetaObject::invokeMethod(&loopOwner, [&] {
            stalled.release();
            release.acquire();
        });
        QVERIFY(stalled.tryAcquire(1, 5000));
        manager.drain();
        const int before = manager.count("WATCHDOG=1");
        // Ten intervals with this thread's event loop running: no ping may come (waiting for
        // silence, nothing to synchronise on).
        QTest::qWait(500);
        manager.drain();
        QCOMPARE(manager.count("WATCHDOG=1"), before);

        release.release();
        QTRY_VERIFY_WITH_TIMEOUT(manager.count("WATCHDOG=1") > before, 5000);

        // The watchdog timer dies on its own thread; the owner, now without timers (moving a
        // running timer would post its re-registration to a loop that may never read it), comes
        // back to this thread to be destroyed where it lives.
        QMetaObject::invokeMethod(
            &loopOwner,
            [&] {
                qDeleteAll(loopOwner.children());
                loopOwner.moveToThread(thread());
            },
            Qt::BlockingQueuedConnection);
        brokerThread.quit();
        QVERIFY(brokerThread.wait(5000));
    }

private:
    QTemporaryDir m_directory;
    QString m_path;
};

QTEST_GUILESS_MAIN(TestSystemdNotifier)
#include "tst_systemdnotifier.moc"
