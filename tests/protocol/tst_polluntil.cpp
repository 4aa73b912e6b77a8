#include <switchboard/protocol/polluntil.h>

#include <QTest>

#include <zmq.hpp>

#include <csignal>
#include <ctime>

#include <atomic>
#include <chrono>

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_signals{0};

void countSignal(int)
{
    ++g_signals;
}

} // namespace

class TestPollUntil : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void returnsReadyItems();
    void timesOutAtTheDeadline();
    void signalsDoNotCutTheWaitShort();
    void throwsForAClosedContext();
};

void TestPollUntil::returnsReadyItems()
{
    zmq::context_t context;
    zmq::socket_t a(context, zmq::socket_type::pair);
    zmq::socket_t b(context, zmq::socket_type::pair);
    a.bind("inproc://polluntil-ready");
    b.connect("inproc://polluntil-ready");
    a.send(zmq::str_buffer("x"), zmq::send_flags::none);
    zmq::pollitem_t item{b.handle(), 0, ZMQ_POLLIN, 0};
    QCOMPARE(pollUntil(&item, 1, Clock::now() + 10s), 1);
    QVERIFY((item.revents & ZMQ_POLLIN) != 0);
    // A deadline in the past still reports what is ready.
    QCOMPARE(pollUntil(&item, 1, Clock::now() - 1s), 1);
}

void TestPollUntil::timesOutAtTheDeadline()
{
    zmq::context_t context;
    zmq::socket_t idle(context, zmq::socket_type::pair);
    zmq::pollitem_t item{idle.handle(), 0, ZMQ_POLLIN, 0};
    const auto until = Clock::now() + 30ms;
    QCOMPARE(pollUntil(&item, 1, until), 0);
    QVERIFY(Clock::now() >= until);
}

void TestPollUntil::signalsDoNotCutTheWaitShort()
{
    // This used to end a worker's reconnect pause early, and throw from a client's wait, when a
    // signal interrupted zmq_poll (EINTR). A handler without SA_RESTART, so poll() sees it.
    struct sigaction action {};
    struct sigaction previous {};
    action.sa_handler = countSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    QCOMPARE(sigaction(SIGALRM, &action, &previous), 0);
    // Ten signals, 10 ms apart, while one pollUntil waits 200 ms.
    timer_t timer{};
    sigevent event{};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGALRM;
    QCOMPARE(timer_create(CLOCK_MONOTONIC, &event, &timer), 0);
    itimerspec spec{};
    spec.it_value.tv_nsec = 10'000'000;
    spec.it_interval.tv_nsec = 10'000'000;
    g_signals = 0;

    zmq::context_t context;
    zmq::socket_t idle(context, zmq::socket_type::pair);
    zmq::pollitem_t item{idle.handle(), 0, ZMQ_POLLIN, 0};
    const auto until = Clock::now() + 200ms;
    QCOMPARE(timer_settime(timer, 0, &spec, nullptr), 0);
    int ready = -1;
    try {
        ready = pollUntil(&item, 1, until);
    } catch (const zmq::error_t& error) {
        QFAIL(error.what());
    }
    const auto returned = Clock::now();
    timer_delete(timer);
    sigaction(SIGALRM, &previous, nullptr);
    QCOMPARE(ready, 0);
    QVERIFY(returned >= until);
    QVERIFY(g_signals.load() > 0);
}

void TestPollUntil::throwsForAClosedContext()
{
    zmq::context_t context;
    zmq::socket_t socket(context, zmq::socket_type::pair);
    context.shutdown();
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    QVERIFY_THROWS_EXCEPTION(zmq::error_t, pollUntil(&item, 1, Clock::now() + 10s));
}

QTEST_GUILESS_MAIN(TestPollUntil)
#include "tst_polluntil.moc"
