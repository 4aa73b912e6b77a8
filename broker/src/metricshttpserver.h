#pragma once

#include "publishedstate.h"

#include <QAbstractHttpServer>

#include <chrono>
#include <memory>

namespace switchboard {

// The three endpoints of the broker's HTTP listener, answered from PublishedState alone: GET
// /metrics (Prometheus text format), /livez (the broker's loop turns) and /readyz (every
// endpoint is bound and the broker is not shutting down). Lives on the listener's thread.
class MetricsHttpServer : public QAbstractHttpServer {
    Q_OBJECT
public:
    // /livez fails once the broker's loop has not beaten for this long.
    static constexpr std::chrono::seconds kStallLimit{10};

    explicit MetricsHttpServer(std::shared_ptr<const PublishedState> state,
                               QObject* parent = nullptr);

protected:
    bool handleRequest(const QHttpServerRequest& request, QTcpSocket* socket) override;
    void missingHandler(const QHttpServerRequest& request, QTcpSocket* socket) override;

private:
    std::shared_ptr<const PublishedState> m_state;
};

} // namespace switchboard
