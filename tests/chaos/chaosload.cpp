#include "chaosload.h"

#include <switchboard/errors.h>

#include <cxxabi.h>

#include <algorithm>

#include <cstdlib>
#include <typeinfo>

namespace {

constexpr std::string_view kService = "chaos";
constexpr std::string_view kMethod = "work";

std::int64_t nanosecondsOf(std::chrono::steady_clock::time_point time)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// The dynamic class of an exception, demangled and without our namespace, so that error kinds
// the libraries add later are counted under their own names without changes here.
std::string className(const std::exception& error)
{
    const char* mangled = typeid(error).name();
    int status = 0;
    char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
    std::free(demangled);
    constexpr std::string_view kNamespace = "switchboard::";
    if (name.starts_with(kNamespace)) {
        name.erase(0, kNamespace.size());
    }
    return name;
}

} // namespace

ChaosLoad::ChaosLoad(Settings settings)
    : m_settings(std::move(settings))
    , m_records(std::make_unique<CallRecord[]>(static_cast<std::size_t>(m_settings.requests)))
    , m_blockingClient(
          std::make_unique<switchboard::Client>(m_settings.endpoints, m_settings.client))
    , m_asyncClient(std::make_unique<switchboard::Client>(m_settings.endpoints, m_settings.client))
{}

ChaosLoad::~ChaosLoad()
{
    if (m_abandoned) {
        return;
    }
    for (std::thread& thread : m_threads) {
        thread.join();
    }
}

void ChaosLoad::start()
{
    for (int i = 0; i < m_settings.concurrency; ++i) {
        m_threads.emplace_back([this] { runBlocking(); });
    }
    for (int i = 0; i < m_settings.concurrency; ++i) {
        issueAsync();
    }
}

std::int64_t ChaosLoad::issued() const noexcept
{
    return std::min(m_next.load(), m_settings.requests);
}

std::int64_t ChaosLoad::ended() const noexcept
{
    return m_ended.load(std::memory_order_acquire);
}

std::string ChaosLoad::outcomeName(int outcome) const
{
    const std::lock_guard lock(m_mutex);
    if (outcome < 0 || outcome >= static_cast<int>(m_outcomes.size())) {
        return "not ended";
    }
    return m_outcomes[static_cast<std::size_t>(outcome)].name;
}

bool ChaosLoad::isTypedError(int outcome) const
{
    const std::lock_guard lock(m_mutex);
    return outcome > CallRecord::kReplied && outcome < static_cast<int>(m_outcomes.size()) &&
           m_outcomes[static_cast<std::size_t>(outcome)].typed;
}

int ChaosLoad::outcomeCount() const
{
    const std::lock_guard lock(m_mutex);
    return static_cast<int>(m_outcomes.size());
}

std::string ChaosLoad::errorText(std::int64_t id) const
{
    const std::lock_guard lock(m_mutex);
    const auto it = m_errorTexts.find(id);
    return it == m_errorTexts.end() ? std::string() : it->second;
}

void ChaosLoad::abandon()
{
    m_abandoned = true;
    for (std::thread& thread : m_threads) {
        thread.detach();
    }
    (void)m_blockingClient.release();
    (void)m_asyncClient.release();
}

std::int64_t ChaosLoad::take()
{
    const std::int64_t id = m_next.fetch_add(1);
    if (id >= m_settings.requests) {
        return -1;
    }
    const auto& milestones = m_settings.milestones;
    for (std::size_t i = 0; i < milestones.size(); ++i) {
        if (milestones[i] == id && m_settings.onMilestone) {
            m_settings.onMilestone(i);
        }
    }
    return id;
}

switchboard::CallOptions ChaosLoad::optionsFor(std::int64_t id,
                                               std::chrono::steady_clock::time_point now)
{
    CallRecord& record = m_records[static_cast<std::size_t>(id)];
    record.issuedNs = nanosecondsOf(now);
    record.deadlineNs = nanosecondsOf(now + m_settings.deadline);
    switchboard::CallOptions options;
    options.timeout = m_settings.deadline;
    options.idempotent = isIdempotent(id);
    return options;
}

void ChaosLoad::runBlocking()
{
    for (std::int64_t id = take(); id >= 0; id = take()) {
        const auto options = optionsFor(id, std::chrono::steady_clock::now());
        try {
            endWithValue(id, m_blockingClient->call<std::int64_t>(options, kService, kMethod, id,
                                                                  isIdempotent(id)));
        } catch (...) {
            endWithError(id, std::current_exception());
        }
    }
}

void ChaosLoad::issueAsync()
{
    const std::int64_t id = take();
    if (id < 0) {
        return;
    }
    const auto options = optionsFor(id, std::chrono::steady_clock::now());
    // The callback runs on the client's I/O thread and starts the next call from there, so
    // `concurrency` calls stay in flight without a thread of our own.
    m_asyncClient->callThen<std::int64_t>(
        options,
        [this, id](switchboard::CallResult<std::int64_t> result) {
            if (result.ok()) {
                endWithValue(id, result.value());
            } else {
                endWithError(id, result.error());
            }
            issueAsync();
        },
        kService, kMethod, id, isIdempotent(id));
}

void ChaosLoad::endWithValue(std::int64_t id, std::int64_t value)
{
    end(id, CallRecord::kReplied, value);
}

void ChaosLoad::endWithError(std::int64_t id, std::exception_ptr error)
{
    int outcome = CallRecord::kNotEnded;
    std::string text;
    try {
        std::rethrow_exception(std::move(error));
    } catch (const switchboard::RemoteError& remote) {
        outcome = outcomeOf("RemoteError(" + remote.type() + ")", true);
        text = remote.what();
    } catch (const switchboard::Error& typed) {
        outcome = outcomeOf(className(typed), true);
        text = typed.what();
    } catch (const std::exception& untyped) {
        outcome = outcomeOf("untyped " + className(untyped), false);
        text = untyped.what();
    } catch (...) {
        outcome = outcomeOf("untyped (not a std::exception)", false);
    }
    {
        const std::lock_guard lock(m_mutex);
        m_errorTexts.emplace(id, std::move(text));
    }
    end(id, outcome, 0);
}

void ChaosLoad::end(std::int64_t id, int outcome, std::int64_t value)
{
    CallRecord& record = m_records[static_cast<std::size_t>(id)];
    if (record.endings.fetch_add(1, std::memory_order_acq_rel) != 0) {
        m_extraEndings.fetch_add(1);
        return;
    }
    record.endedNs.store(nanosecondsOf(std::chrono::steady_clock::now()));
    record.value.store(value);
    record.outcome.store(outcome);
    if (m_ended.fetch_add(1, std::memory_order_acq_rel) + 1 == m_settings.requests &&
        m_settings.onFinished) {
        m_settings.onFinished();
    }
}

int ChaosLoad::outcomeOf(const std::string& name, bool typed)
{
    const std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < m_outcomes.size(); ++i) {
        if (m_outcomes[i].name == name) {
            return static_cast<int>(i);
        }
    }
    m_outcomes.push_back({name, typed});
    return static_cast<int>(m_outcomes.size()) - 1;
}
