#include "metricshttpserver.h"

#include "logging.h"

#include <switchboard/metrics/brokermetrics.h>

#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QJsonDocument>
#include <QJsonObject>

#include <exception>

namespace switchboard {

namespace {

using Status = QHttpServerResponder::StatusCode;

const QByteArray kContentType = QByteArrayLiteral("Content-Type");
const QByteArray kJson = QByteArrayLiteral("application/json");
// The text format's own type; Prometheus picks its parser by it.
const QByteArray kExposition = QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8");
const QByteArray kText = QByteArrayLiteral("text/plain; charset=utf-8");

void writeJson(QHttpServerResponder& responder, const QJsonObject& body, Status status)
{
    responder.write(QJsonDocument(body).toJson(QJsonDocument::Compact) + '\n',
                    {{kContentType, kJson}}, status);
}

QJsonObject health(const char* status, const QString& reason = {})
{
    QJsonObject body{{QStringLiteral("status"), QLatin1String(status)}};
    if (!reason.isEmpty()) {
        body.insert(QStringLiteral("reason"), reason);
    }
    return body;
}

} // namespace

MetricsHttpServer::MetricsHttpServer(std::shared_ptr<const PublishedState> state, QObject* parent)
    : QAbstractHttpServer(parent)
    , m_state(std::move(state))
{}

bool MetricsHttpServer::handleRequest(const QHttpServerRequest& request, QTcpSocket* socket)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    const QString path = request.url().path();
    const bool metrics = path == QLatin1String("/metrics");
    const bool livez = path == QLatin1String("/livez");
    const bool readyz = path == QLatin1String("/readyz");
    if (!metrics && !livez && !readyz) {
        responder.write(QByteArrayLiteral("not found: this listener serves /metrics, /livez "
                                          "and /readyz\n"),
                        {{kContentType, kText}}, Status::NotFound);
        return true;
    }
    if (request.method() != QHttpServerRequest::Method::Get) {
        responder.write(QByteArrayLiteral("method not allowed: only GET\n"),
                        {{kContentType, kText}, {QByteArrayLiteral("Allow"), "GET"}},
                        Status::MethodNotAllowed);
        return true;
    }
    if (readyz) {
        switch (m_state->readiness()) {
        case PublishedState::Readiness::Starting:
            writeJson(responder, health("starting", QStringLiteral("endpoints not bound yet")),
                      Status::ServiceUnavailable);
            break;
        case PublishedState::Readiness::Ready:
            writeJson(responder, health("ready"), Status::Ok);
            break;
        case PublishedState::Readiness::ShuttingDown:
            writeJson(responder, health("shutting down"), Status::ServiceUnavailable);
            break;
        }
        return true;
    }
    if (livez) {
        const auto silent = PublishedState::Clock::now() - m_state->lastBeat();
        if (silent > kStallLimit) {
            const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(silent).count();
            writeJson(responder,
                      health("stalled", QStringLiteral("the broker's event loop has not turned "
                                                       "for %1 s")
                                            .arg(seconds)),
                      Status::ServiceUnavailable);
        } else {
            writeJson(responder, health("alive"), Status::Ok);
        }
        return true;
    }
    try {
        // Before the broker's first publication there are no figures yet, but build_info and
        // the process's own already say which broker this is.
        const auto latest = m_state->latest();
        const std::string text = latest ? metrics::exposition(latest->snapshot, latest->counters)
                                        : metrics::exposition({}, {});
        responder.write(QByteArray::fromStdString(text), {{kContentType, kExposition}}, Status::Ok);
    } catch (const std::exception& error) {
        // Never out of a slot of the event loop: the scrape fails, the listener stays.
        qCWarning(lcBroker) << "/metrics failed:" << error.what();
        responder.write(QByteArrayLiteral("the metrics could not be rendered; see the broker's "
                                          "log\n"),
                        {{kContentType, kText}}, Status::InternalServerError);
    }
    return true;
}

void MetricsHttpServer::missingHandler(const QHttpServerRequest& request, QTcpSocket* socket)
{
    // handleRequest() answers every request; this is QAbstractHttpServer's contract only.
    makeResponder(request, socket).write(Status::NotFound);
}

} // namespace switchboard
