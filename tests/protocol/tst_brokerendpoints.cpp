#include <switchboard/protocol/brokerendpoints.h>

#include <QTest>

#include <stdexcept>

using namespace switchboard;

namespace {

using Endpoints = std::vector<std::string>;

} // namespace

class TestBrokerEndpoints : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void literalsStandForThemselves()
    {
        const BrokerEndpoints endpoints(
            {"tcp://127.0.0.1:5555", "ipc:///tmp/b", "inproc://x", "tcp://[::1]:7"});
        const Endpoints expected{"inproc://x", "ipc:///tmp/b", "tcp://127.0.0.1:5555",
                                 "tcp://[::1]:7"};
        QVERIFY(endpoints.current() == expected);
    }

    void duplicatesCountOnce()
    {
        const BrokerEndpoints endpoints({"tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"});
        QCOMPARE(endpoints.current().size(), std::size_t(1));
    }

    void malformedEndpointsAreRefused()
    {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BrokerEndpoints(Endpoints{}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BrokerEndpoints({""}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BrokerEndpoints({"tcp://host"}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, BrokerEndpoints({"tcp://[::1]"}));
    }

    void aNameResolvesToItsAddresses()
    {
        const BrokerEndpoints endpoints({"tcp://localhost:5555"});
        QVERIFY(!endpoints.current().empty());
        for (const auto& endpoint : endpoints.current()) {
            QVERIFY2(endpoint == "tcp://127.0.0.1:5555" || endpoint == "tcp://[::1]:5555",
                     endpoint.c_str());
        }
    }

    void anUnresolvableNameStaysAsGiven()
    {
        BrokerEndpoints endpoints({"tcp://no-such-host.invalid:5555"});
        const Endpoints expected{"tcp://no-such-host.invalid:5555"};
        QVERIFY(endpoints.current() == expected);
        QVERIFY(!endpoints.refresh());
    }
};

QTEST_GUILESS_MAIN(TestBrokerEndpoints)
#include "tst_brokerendpoints.moc"
