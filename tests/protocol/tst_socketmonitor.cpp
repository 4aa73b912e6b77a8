#include <switchboard/protocol/inprocendpoint.h>
#include <switchboard/protocol/polluntil.h>
#include <switchboard/protocol/socketmonitor.h>

#include <QTest>

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

// A monitor message as libzmq 4.x sends it: [16-bit event, 32-bit value][endpoint].
Frames monitorMessage(std::uint16_t id, std::uint32_t value, std::string_view endpoint)
{
    char header[6];
    std::memcpy(header, &id, sizeof id);
    std::memcpy(header + sizeof id, &value, sizeof value);
    Frames frames;
    frames.emplace_back(header, sizeof header);
    frames.emplace_back(endpoint.data(), endpoint.size());
    return frames;
}

// Polls `reader` and dispatches what it reads until `done` or the deadline.
template <typename Done>
bool pumpUntil(const SocketMonitor& monitor, zmq::socket_t& reader, Done done)
{
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
        zmq::pollitem_t item{reader.handle(), 0, ZMQ_POLLIN, 0};
        if (pollUntil(&item, 1, deadline) == 0) {
            return false;
        }
        monitor.drain(reader);
    }
    return true;
}

} // namespace

class TestSocketMonitor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void decodesMonitorMessages();
    void rejectsWhatIsNotAMonitorMessage_data();
    void rejectsWhatIsNotAMonitorMessage();
    void callsTheCallbackOfEachEvent();
    void reportsAHandshakeAndADisconnect();
    void inprocEndpointsAreUniqueAcrossThreads();
};

void TestSocketMonitor::decodesMonitorMessages()
{
    const Frames frames = monitorMessage(ZMQ_EVENT_DISCONNECTED, 17, "tcp://127.0.0.1:5556");
    const auto event = SocketEvent::decode(frames);
    QVERIFY(event.has_value());
    QCOMPARE(event->id, ZMQ_EVENT_DISCONNECTED);
    QCOMPARE(event->value, 17u);
    QCOMPARE(event->endpoint, std::string_view("tcp://127.0.0.1:5556"));

    // The value is unsigned on the wire: a protocol error code keeps all its bits.
    const auto error = SocketEvent::decode(monitorMessage(
        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, ""));
    QVERIFY(error.has_value());
    QCOMPARE(error->value, std::uint32_t(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH));
}

void TestSocketMonitor::rejectsWhatIsNotAMonitorMessage_data()
{
    QTest::addColumn<int>("headerBytes");
    QTest::addColumn<int>("frameCount");
    QTest::newRow("no frames") << 6 << 0;
    QTest::newRow("header only") << 6 << 1;
    QTest::newRow("short header") << 5 << 2;
    QTest::newRow("long header (a v2 monitor)") << 8 << 2;
    QTest::newRow("three frames") << 6 << 3;
}

void TestSocketMonitor::rejectsWhatIsNotAMonitorMessage()
{
    QFETCH(int, headerBytes);
    QFETCH(int, frameCount);
    Frames frames;
    for (int i = 0; i < frameCount; ++i) {
        frames.emplace_back(static_cast<std::size_t>(i == 0 ? headerBytes : 3));
    }
    QVERIFY(!SocketEvent::decode(frames).has_value());
    int called = 0;
    SocketMonitor monitor;
    monitor.on(0, [&](const SocketEvent&) { ++called; });
    QVERIFY(!monitor.dispatch(frames));
    QCOMPARE(called, 0);
}

void TestSocketMonitor::callsTheCallbackOfEachEvent()
{
    std::vector<std::string> seen;
    SocketMonitor monitor;
    monitor
        .on(ZMQ_EVENT_DISCONNECTED,
            [&](const SocketEvent& event) {
                seen.push_back("gone " + std::to_string(event.value));
            })
        .on(ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
            [&](const SocketEvent& event) { seen.emplace_back(event.endpoint); });
    QCOMPARE(monitor.events(), ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    QVERIFY(monitor.dispatch(monitorMessage(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, "tcp://a")));
    QVERIFY(monitor.dispatch(monitorMessage(ZMQ_EVENT_DISCONNECTED, 9, "tcp://a")));
    // An event without a callback is a monitor message all the same, and is ignored.
    QVERIFY(monitor.dispatch(monitorMessage(ZMQ_EVENT_CLOSED, 9, "tcp://a")));
    QCOMPARE(seen, (std::vector<std::string>{"tcp://a", "gone 9"}));

    // on() again replaces the callback rather than adding a second one.
    monitor.on(ZMQ_EVENT_DISCONNECTED, [&](const SocketEvent&) { seen.emplace_back("again"); });
    monitor.dispatch(SocketEvent{ZMQ_EVENT_DISCONNECTED, 1, {}});
    QCOMPARE(seen.back(), std::string("again"));
    QCOMPARE(seen.size(), std::size_t(3));
}

void TestSocketMonitor::reportsAHandshakeAndADisconnect()
{
    zmq::context_t context;
    zmq::socket_t server(context, zmq::socket_type::router);
    server.set(zmq::sockopt::linger, 0);
    server.bind("tcp://127.0.0.1:*");
    const std::string endpoint = server.get(zmq::sockopt::last_endpoint);

    int handshakes = 0;
    std::vector<std::uint32_t> closedFds;
    SocketMonitor monitor;
    monitor.on(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, [&](const SocketEvent& event) {
        QCOMPARE(event.endpoint, std::string_view(endpoint));
        ++handshakes;
    });
    monitor.on(ZMQ_EVENT_DISCONNECTED,
               [&](const SocketEvent& event) { closedFds.push_back(event.value); });
    zmq::socket_t reader = SocketMonitor::start(context, server, monitor.events());

    {
        zmq::socket_t client(context, zmq::socket_type::dealer);
        client.set(zmq::sockopt::linger, 0);
        client.connect(endpoint);
        QVERIFY(pumpUntil(monitor, reader, [&] { return handshakes == 1; }));
    }
    QVERIFY(pumpUntil(monitor, reader, [&] { return closedFds.size() == 1; }));

    // Two monitors on one context each get an endpoint of their own.
    zmq::socket_t other(context, zmq::socket_type::router);
    other.set(zmq::sockopt::linger, 0);
    zmq::socket_t otherReader = SocketMonitor::start(context, other, ZMQ_EVENT_ALL);
    SocketMonitor::stop(other);
    SocketMonitor::stop(server);
}

void TestSocketMonitor::inprocEndpointsAreUniqueAcrossThreads()
{
    constexpr int kThreads = 4;
    constexpr int kEach = 1000;
    std::vector<std::vector<std::string>> names(kThreads);
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&names, t] {
                for (int i = 0; i < kEach; ++i) {
                    names[t].push_back(uniqueInprocEndpoint("test"));
                }
            });
        }
    }
    std::set<std::string> all;
    for (const auto& each : names) {
        all.insert(each.begin(), each.end());
    }
    QCOMPARE(all.size(), std::size_t(kThreads * kEach));
    QVERIFY(all.begin()->starts_with("inproc://switchboard.test."));
}

QTEST_GUILESS_MAIN(TestSocketMonitor)
#include "tst_socketmonitor.moc"
