#pragma once

#include <QObject>

#include <initializer_list>

class QSocketNotifier;

namespace switchboard {

// Turns Unix signals into a Qt signal on the event loop. A signal handler may only do
// async-signal-safe things, so it writes the signal number into a socket pair and the event loop
// reads it from there (the approach of Qt's "Calling Qt Functions From Unix Signal Handlers").
class UnixSignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit UnixSignalWatcher(std::initializer_list<int> signalNumbers, QObject* parent = nullptr);
    ~UnixSignalWatcher() override;

Q_SIGNALS:
    void received(int signal);

private:
    void readPending();

    QSocketNotifier* m_notifier = nullptr;
};

} // namespace switchboard
