// CURVE (docs/SECURITY.md): key files as other ZeroMQ tools write them, and a broker that lets
// in the keys of its authorized directory, for the endpoint they are authorized for, and no one
// else: unknown keys, peers without CURVE, keys removed on a reload.

#include "rawpeer.h"
#include "testbroker.h"

#include <switchboard/client.h>
#include <switchboard/monitoring/adminclient.h>
#include <switchboard/protocol/curvekey.h>
#include <switchboard/worker.h>

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <fstream>
#include <optional>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(switchboard::curve::KeyError::Kind)

namespace {

void writeText(const QString& path, const std::string& text)
{
    std::ofstream file(path.toStdString());
    file << text;
}

// A key pair with its files: NAME.key and NAME.pub in `directory`.
struct Identity {
    curve::KeyPair keys;
    QString secretFile;
    QString publicFile;

    Identity(const QString& directory, const QString& name)
        : keys(curve::generateKeyPair())
        , secretFile(QDir(directory).filePath(name + QLatin1String(".key")))
        , publicFile(QDir(directory).filePath(name + QLatin1String(".pub")))
    {
        writeText(secretFile, curve::formatCertificate(keys, true));
        writeText(publicFile, curve::formatCertificate(keys, false));
    }

    // Authorizes it: its .pub in `directory` (the authorized one or a subdirectory of it).
    QString authorizeIn(const QString& directory, const QString& name) const
    {
        const QString path = QDir(directory).filePath(name + QLatin1String(".pub"));
        writeText(path, curve::formatCertificate(keys, false));
        return path;
    }
};

int addOne(int n)
{
    return n + 1;
}

} // namespace

class TestCurve : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_authorized;
    std::optional<Identity> m_broker;
    std::optional<Identity> m_client;
    std::optional<Identity> m_worker;
    std::optional<Identity> m_stranger;
    zmq::context_t m_peers; // clients and workers: not the broker's context, as in real life

    QString sub(const char* name) const { return QDir(m_authorized).filePath(QLatin1String(name)); }

    BrokerConfig curveConfig() const
    {
        BrokerConfig config;
        config.heartbeatInterval = 100ms;
        config.liveness = 30;
        config.requestTimeout = 5000ms;
        config.curveKeyFile = m_broker->secretFile;
        config.authorizedKeysDirectory = m_authorized;
        return config;
    }

    curve::ClientCredentials credentials(const Identity& who) const
    {
        return {m_broker->keys.publicKey, who.keys.publicKey, who.keys.secretKey};
    }

    ClientOptions clientOptions(const Identity& who, std::chrono::milliseconds timeout = 5000ms)
    {
        ClientOptions options;
        options.timeout = timeout;
        options.curve = credentials(who);
        return options;
    }

    std::unique_ptr<Worker> startWorker(TestBroker& broker, const Identity& who)
    {
        WorkerOptions options;
        options.heartbeatInterval = 100ms;
        options.liveness = 30;
        options.curve = credentials(who);
        auto worker = std::make_unique<Worker>(m_peers, broker.backend(), "math", options);
        worker->handle("add_one", addOne);
        worker->start();
        return worker;
    }

    static std::size_t workersOf(TestBroker& broker) { return broker.counters().workers; }

private slots:
    void initTestCase()
    {
        if (!curve::isAvailable()) {
            QSKIP("libzmq without CURVE");
        }
        QVERIFY(m_dir.isValid());
        m_authorized = m_dir.filePath(QStringLiteral("authorized"));
        QVERIFY(QDir().mkpath(QDir(m_authorized).filePath(QStringLiteral("clients"))));
        QVERIFY(QDir().mkpath(QDir(m_authorized).filePath(QStringLiteral("workers"))));
        QVERIFY(QDir().mkpath(QDir(m_authorized).filePath(QStringLiteral("admin"))));
        m_broker.emplace(m_dir.path(), QStringLiteral("broker"));
        m_client.emplace(m_dir.path(), QStringLiteral("client"));
        m_worker.emplace(m_dir.path(), QStringLiteral("worker"));
        m_stranger.emplace(m_dir.path(), QStringLiteral("stranger"));
        m_client->authorizeIn(sub("clients"), QStringLiteral("client"));
        m_worker->authorizeIn(sub("workers"), QStringLiteral("worker"));
    }

    // --- key files

    void readsWhatCzmqWrites()
    {
        // zcert_save's layout, with metadata and comments, keys quoted.
        const QString path = m_dir.filePath(QStringLiteral("czmq.key"));
        writeText(path, "#   ****  Generated on 2026-01-01 00:00:00 by CZMQ  ****\n"
                        "#   ZeroMQ CURVE **Secret** Certificate\n"
                        "\n"
                        "metadata\n"
                        "    name = \"billing\"\n"
                        "curve\n"
                        "    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n"
                        "    secret-key = \"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\"\n");
        const auto keys = curve::readKeyFile(path.toStdString(), true);
        QCOMPARE(keys.publicKey, std::string("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"));
        QCOMPARE(keys.secretKey, std::string("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"));
        // The client pair of zmq_curve(7)'s example: the public key follows from the secret.
        QCOMPARE(curve::publicKeyOf(keys.secretKey), keys.publicKey);
    }

    void roundTripsItsOwnFiles()
    {
        const auto keys = curve::readKeyFile(m_client->secretFile.toStdString(), true);
        QCOMPARE(keys.publicKey, m_client->keys.publicKey);
        QCOMPARE(keys.secretKey, m_client->keys.secretKey);
        const auto pub = curve::readKeyFile(m_client->publicFile.toStdString(), false);
        QCOMPARE(pub.publicKey, m_client->keys.publicKey);
        QVERIFY(pub.secretKey.empty());
    }

    void refusesBadKeyFiles_data()
    {
        QTest::addColumn<QByteArray>("content"); // empty: the file does not exist
        QTest::addColumn<bool>("needSecret");
        QTest::addColumn<curve::KeyError::Kind>("kind");
        QTest::addColumn<QString>("message");
        const QByteArray good = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        QTest::newRow("missing") << QByteArray() << false << curve::KeyError::Kind::FileMissing
                                 << "No such file";
        QTest::newRow("no curve section")
            << QByteArray("metadata\n    public-key = \"" + good + "\"\n") << false
            << curve::KeyError::Kind::NoKey << "no public-key";
        QTest::newRow("too short") << QByteArray("curve\n    public-key = \"abc\"\n") << false
                                   << curve::KeyError::Kind::WrongLength << "got 3";
        QTest::newRow("not z85")
            << QByteArray("curve\n    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\\\"\n")
            << false << curve::KeyError::Kind::BadZ85 << "not Z85";
        QTest::newRow("public file where a pair is needed")
            << QByteArray("curve\n    public-key = \"" + good + "\"\n") << true
            << curve::KeyError::Kind::NoKey << "no secret-key";
    }

    void refusesBadKeyFiles()
    {
        QFETCH(QByteArray, content);
        QFETCH(bool, needSecret);
        QFETCH(curve::KeyError::Kind, kind);
        QFETCH(QString, message);
        const QString path =
            m_dir.filePath(QStringLiteral("bad-%1.key").arg(QTest::currentDataTag()));
        if (!content.isEmpty()) {
            writeText(path, content.toStdString());
        }
        try {
            (void)curve::readKeyFile(path.toStdString(), needSecret);
            QFAIL("no KeyError");
        } catch (const curve::KeyError& error) {
            QCOMPARE(error.kind(), kind);
            QVERIFY2(QString::fromUtf8(error.what()).contains(message), error.what());
            QVERIFY2(QString::fromUtf8(error.what()).contains(path), error.what());
        }
    }

    // --- the broker

    void authorizedClientAndWorkerWorkEndToEnd()
    {
        TestBroker broker(curveConfig());
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        Client client(m_peers, broker.frontend(), clientOptions(*m_client));
        QCOMPARE(client.call<int>("math", "add_one", 41), 42);
        QCOMPARE(broker.counters().curveRefused, std::uint64_t(0));
    }

    void unknownClientKeyFailsWithAuthenticationError()
    {
        TestBroker broker(curveConfig());
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        // A long timeout: the refusal must end the call, not the clock.
        Client client(m_peers, broker.frontend(), clientOptions(*m_stranger, 60000ms));
        const auto started = std::chrono::steady_clock::now();
        QVERIFY_THROWS_EXCEPTION(AuthenticationError, client.call<int>("math", "add_one", 1));
        QVERIFY(std::chrono::steady_clock::now() - started < 30s);
        QTRY_VERIFY(broker.counters().curveRefused >= 1);
        QCOMPARE(broker.counters().requestsReceived, std::uint64_t(0));
        // The asynchronous path too.
        auto future = client.callAsync<int>("math", "add_one", 1);
        QVERIFY_THROWS_EXCEPTION(AuthenticationError, future.get());
    }

    void unknownWorkerKeyIsNeverRegistered()
    {
        TestBroker broker(curveConfig());
        const auto before = broker.counters().curveRefused;
        auto stranger = startWorker(broker, *m_stranger);
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().curveRefused > before, 10000);
        // A client key is not a worker key either: the roles are separate.
        auto client = startWorker(broker, *m_client);
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().curveRefused > before + 1, 10000);
        // The refusals are final for those handshakes; a real worker still gets in, and is the
        // only one the broker shows.
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        QCOMPARE(broker.snapshot().workers.size(), qsizetype(1));
        QCOMPARE(broker.counters().workersRegistered, std::uint64_t(1));
    }

    void peerWithoutCurveGetsNothing()
    {
        TestBroker broker(curveConfig());
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        const auto before = broker.counters().curveHandshakesFailed;
        {
            // A 7/MDP client request without CURVE, written by hand.
            RawPeer plain(m_peers, broker.frontend());
            plain.send({"", "MDPC01", "mmi.service", "math"});
            QVERIFY(!plain.receive(1000ms));
        }
        // libzmq reports the failed handshake once the peer has gone.
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().curveHandshakesFailed > before, 10000);
        QCOMPARE(broker.counters().mmiRequests, std::uint64_t(0));
    }

    void clientWithoutCurveFailsInsteadOfHanging()
    {
        TestBroker broker(curveConfig());
        ClientOptions options;
        options.timeout = 60000ms;
        Client client(m_peers, broker.frontend(), options);
        // This used to block for good in a send: libzmq drops a connection whose handshake
        // failed, and a DEALER without a connection blocks. Idempotent, so retries too.
        CallOptions retried;
        retried.idempotent = true;
        const auto started = std::chrono::steady_clock::now();
        QVERIFY_THROWS_EXCEPTION(AuthenticationError,
                                 client.call<int>(retried, "math", "add_one", 1));
        QVERIFY_THROWS_EXCEPTION(AuthenticationError, client.call<int>("math", "add_one", 1));
        QVERIFY(std::chrono::steady_clock::now() - started < 30s);
    }

    void clientWithWrongServerKeyGetsNothing()
    {
        TestBroker broker(curveConfig());
        {
            // The broker cannot read a handshake made for another key and closes the
            // connection; the client tells that from a lost connection (nothing was sent).
            ClientOptions options = clientOptions(*m_client, 60000ms);
            options.curve.serverPublicKey = m_stranger->keys.publicKey;
            Client client(m_peers, broker.frontend(), options);
            QVERIFY_THROWS_EXCEPTION(AuthenticationError, client.call<int>("math", "add_one", 1));
        }
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().curveHandshakesFailed >= 1, 10000);
    }

    void reloadAddsAndRemovesKeys()
    {
        TestBroker broker(curveConfig());
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        const Identity late(m_dir.path(), QStringLiteral("late"));
        Client client(m_peers, broker.frontend(), clientOptions(late, 10000ms));
        QVERIFY_THROWS_EXCEPTION(AuthenticationError, client.call<int>("math", "add_one", 1));

        // The same Client tries the handshake again with its next call.
        const QString file = late.authorizeIn(sub("clients"), QStringLiteral("late"));
        QVERIFY(broker.broker());
        QVERIFY(!broker.reloadKeys().isEmpty());
        // libzmq reconnects on its own after a refusal, so one more handshake may have been
        // refused between the call above and the reload, and its refusal reaches the next call.
        // The same Client must get through without being made again.
        const auto callGetsThrough = [&] {
            try {
                return client.call<int>("math", "add_one", 1) == 2;
            } catch (const AuthenticationError&) {
                return false;
            }
        };
        QTRY_VERIFY_WITH_TIMEOUT(callGetsThrough(), 10000);

        // Removed: new connections are refused; the one already made may stay (documented).
        QVERIFY(QFile::remove(file));
        QVERIFY(!broker.reloadKeys().isEmpty());
        Client again(m_peers, broker.frontend(), clientOptions(late, 10000ms));
        QVERIFY_THROWS_EXCEPTION(AuthenticationError, again.call<int>("math", "add_one", 1));
    }

    void directoryChangesReloadByThemselves()
    {
        TestBroker broker(curveConfig());
        auto worker = startWorker(broker, *m_worker);
        QTRY_COMPARE_WITH_TIMEOUT(workersOf(broker), std::size_t(1), 10000);
        const Identity watched(m_dir.path(), QStringLiteral("watched"));
        const auto callWorks = [&] {
            Client client(m_peers, broker.frontend(), clientOptions(watched, 3000ms));
            try {
                return client.call<int>("math", "add_one", 1) == 2;
            } catch (const AuthenticationError&) {
                return false;
            }
        };
        QVERIFY(!callWorks());
        // Directly in the directory: for every endpoint.
        const QString file = watched.authorizeIn(m_authorized, QStringLiteral("watched"));
        QTRY_VERIFY_WITH_TIMEOUT(callWorks(), 15000);
        QVERIFY(QFile::remove(file));
        QTRY_VERIFY_WITH_TIMEOUT(!callWorks(), 15000);
    }

    void adminClientNeedsAnAdminKey()
    {
        const Identity operatorKey(m_dir.path(), QStringLiteral("operator"));
        const QString file = operatorKey.authorizeIn(sub("admin"), QStringLiteral("operator"));
        TestBroker broker(curveConfig(), TestBroker::Admin::Endpoint);
        AdminClient::Options options;
        options.pollInterval = 50ms;
        options.timeout = 1000ms;
        options.curve = credentials(operatorKey);
        AdminClient admin(QString::fromStdString(broker.admin()), m_peers, options);
        QSignalSpy snapshots(&admin, &AdminClient::snapshotReceived);
        admin.start();
        QTRY_VERIFY_WITH_TIMEOUT(snapshots.count() > 0, 10000);

        // A client key is no admin key.
        options.curve = credentials(*m_client);
        AdminClient intruder(QString::fromStdString(broker.admin()), m_peers, options);
        QSignalSpy connected(&intruder, &AdminClient::connectedChanged);
        QSignalSpy refusedSnapshots(&intruder, &AdminClient::snapshotReceived);
        const auto before = broker.counters().curveRefused;
        intruder.start();
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().curveRefused > before, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!connected.isEmpty(), 10000);
        QCOMPARE(connected.last().at(0).toBool(), false);
        QCOMPARE(refusedSnapshots.count(), 0);
        QVERIFY(QFile::remove(file));
    }

    // --- configuration

    void adminBeyondLoopbackNeedsCurve()
    {
        BrokerConfig config;
        config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
        config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
        config.adminEndpoints = {QStringLiteral("tcp://0.0.0.0:*")};
        zmq::context_t context;
        BrokerThread thread(config, context);
        try {
            thread.start();
            QFAIL("the admin endpoint was bound beyond loopback without CURVE");
        } catch (const BindError& error) {
            QCOMPARE(error.endpoint(), QStringLiteral("tcp://0.0.0.0:*"));
            QVERIFY2(error.reason().contains(QLatin1String("CURVE")), error.what());
            QVERIFY2(error.reason().contains(QLatin1String("--curve-key")), error.what());
        }
    }

    void unusableCurveConfigurationIsRefusedAtStart_data()
    {
        QTest::addColumn<QString>("keyFile");
        QTest::addColumn<QString>("directory");
        QTest::addColumn<QString>("message");
        QTest::newRow("no directory") << QStringLiteral("broker.key") << QString() << "needs both";
        QTest::newRow("missing directory")
            << QStringLiteral("broker.key") << QStringLiteral("no-such-dir") << "no such directory";
        QTest::newRow("public key only")
            << QStringLiteral("broker.pub") << QStringLiteral("authorized") << "no secret-key";
        QTest::newRow("missing key file")
            << QStringLiteral("nobody.key") << QStringLiteral("authorized") << "nobody.key";
    }

    void unusableCurveConfigurationIsRefusedAtStart()
    {
        QFETCH(QString, keyFile);
        QFETCH(QString, directory);
        QFETCH(QString, message);
        BrokerConfig config;
        config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
        config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
        config.adminEndpoints.clear();
        config.curveKeyFile = m_dir.filePath(keyFile);
        config.authorizedKeysDirectory =
            directory.isEmpty() ? QString() : m_dir.filePath(directory);
        zmq::context_t context;
        BrokerThread thread(config, context);
        try {
            thread.start();
            QFAIL("started anyway");
        } catch (const Error& error) {
            QVERIFY2(QString::fromUtf8(error.what()).contains(message), error.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestCurve)
#include "tst_curve.moc"
