#pragma once

#include <QMetaObject>
#include <QObject>

#include <functional>
#include <mutex>

// Lets client threads post work to a test's event loop until close(), after which they cannot:
// the loop and everything its functors use are locals of the test function, and a stalled run
// leaves client threads behind.
class LoopRelay {
public:
    explicit LoopRelay(QObject* target)
        : m_target(target)
    {}
    void post(std::function<void()> work)
    {
        const std::lock_guard lock(m_mutex);
        if (m_target) {
            QMetaObject::invokeMethod(m_target, std::move(work), Qt::QueuedConnection);
        }
    }
    void close()
    {
        const std::lock_guard lock(m_mutex);
        m_target = nullptr;
    }

private:
    std::mutex m_mutex;
    QObject* m_target;
};
