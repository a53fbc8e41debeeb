#include "services/common/redis/redis_subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/redis/connection.h"

namespace dialgrid::redis {

Subscriber::Subscriber(Options options, std::string channel, OnMessage on_message,
                       std::function<void()> on_subscribed)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_subscribed_(std::move(on_subscribed)) {}

Subscriber::~Subscriber() { Stop(); }

void Subscriber::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Subscriber::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Subscriber::Run() {
  absl::Duration backoff = options_.min_backoff;
  while (!stop_) {
    const int64_t before = subscriptions_.load();
    absl::Status st = Session();
    subscribed_ = false;
    if (stop_) break;
    if (subscriptions_.load() != before) backoff = options_.min_backoff;
    Log(LogLevel::kWarning, "redis", "subscription lost; reconnecting",
        {{"channel", channel_},
         {"error", st.ToString()},
         {"reason", ReasonOf(st)},
         {"backoff_ms", std::to_string(absl::ToInt64Milliseconds(backoff))}});
    for (absl::Time until = absl::Now() + backoff; !stop_ && absl::Now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Subscriber::Session() {
  // A new connection each time, so AUTH is sent again after every break.
  // With Sentinel, the master it subscribed on, and when to ask again: a
  // master replaced while it stayed up (a planned failover) keeps the old
  // connection open for seconds, hearing nothing published on the new one.
  std::pair<std::string, int> master;
  absl::StatusOr<redisContext*> connected;
  if (options_.sentinels.empty()) {
    connected = OpenConnection(options_);
  } else {
    auto resolved = ResolveMaster(options_);
    if (!resolved.ok()) return resolved.status();
    master = *resolved;
    connected = OpenMaster(options_, master);
  }
  if (!connected.ok()) return connected.status();
  absl::Time next_check = absl::Now() + options_.sentinel_check_interval;
  redisContext* c = *connected;
  const char* argv[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t lens[] = {9, channel_.size()};
  auto* first = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
  const bool ok = first != nullptr && first->type == REDIS_REPLY_ARRAY && first->elements == 3;
  absl::Status refused = absl::OkStatus();
  if (!ok) {
    std::string why = first == nullptr                   ? std::string(c->errstr)
                      : first->type == REDIS_REPLY_ERROR ? std::string(first->str, first->len)
                                                         : "unexpected reply";
    // NOPERM: an ACL user without access to the channel.
    refused = Unavailable(absl::StartsWith(why, "NOAUTH") || absl::StartsWith(why, "NOPERM")
                              ? "REDIS_AUTH_FAILED"
                              : "REDIS_UNAVAILABLE",
                          absl::StrCat("redis: SUBSCRIBE ", channel_, ": ", why));
  }
  if (first != nullptr) freeReplyObject(first);
  if (!ok) {
    redisFree(c);
    return refused;
  }
  subscribed_ = true;
  ++subscriptions_;
  on_subscribed_();
  while (!stop_) {
    pollfd p{c->fd, POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 &&
                  (p.revents & POLLIN) == 0)) {
      break;
    }
    if (!options_.sentinels.empty() && absl::Now() >= next_check) {
      auto now_master = ResolveMaster(options_);
      next_check = absl::Now() + options_.sentinel_check_interval;
      if (now_master.ok() && *now_master != master) {
        redisFree(c);
        return Unavailable("REDIS_NOT_MASTER",
                           absl::StrCat("redis: the Sentinels named a new master, ",
                                        now_master->first, ":", now_master->second));
      }
    }
    if (n == 0) continue;
    if (redisBufferRead(c) != REDIS_OK) break;
    void* raw = nullptr;
    bool failed = false;
    while (true) {
      if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
        failed = true;
        break;
      }
      if (raw == nullptr) break;
      auto* r = static_cast<redisReply*>(raw);
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
          r->element[0]->type == REDIS_REPLY_STRING &&
          absl::string_view(r->element[0]->str, r->element[0]->len) == "message" &&
          r->element[2]->type == REDIS_REPLY_STRING) {
        on_message_(absl::string_view(r->element[2]->str, r->element[2]->len));
      }
      freeReplyObject(r);
    }
    if (failed) break;
  }
  redisFree(c);
  return stop_ ? absl::OkStatus()
               : Unavailable("REDIS_UNAVAILABLE", "redis: subscription connection lost");
}

}  // namespace dialgrid::redis
