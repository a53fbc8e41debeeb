#include "services/common/redis/redis_subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <chrono>

#include "services/common/core/log.h"

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
    Session();
    subscribed_ = false;
    if (stop_) break;
    if (subscriptions_.load() != before) backoff = options_.min_backoff;
    Log(LogLevel::kWarning, "redis", "subscription lost; reconnecting",
        {{"channel", channel_}, {"backoff_ms", std::to_string(absl::ToInt64Milliseconds(backoff))}});
    for (absl::Time until = absl::Now() + backoff; !stop_ && absl::Now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void Subscriber::Session() {
  timeval tv = absl::ToTimeval(options_.connect_timeout);
  redisContext* c = options_.unix_socket.empty()
                        ? redisConnectWithTimeout(options_.host.c_str(), options_.port, tv)
                        : redisConnectUnixWithTimeout(options_.unix_socket.c_str(), tv);
  if (c == nullptr) return;
  if (c->err != 0) {
    redisFree(c);
    return;
  }
  timeval ctv = absl::ToTimeval(options_.command_timeout);
  redisSetTimeout(c, ctv);
  redisEnableKeepAlive(c);
  const char* argv[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t lens[] = {9, channel_.size()};
  auto* first = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
  const bool ok = first != nullptr && first->type == REDIS_REPLY_ARRAY && first->elements == 3;
  if (first != nullptr) freeReplyObject(first);
  if (!ok) {
    redisFree(c);
    return;
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
}

}  // namespace dialgrid::redis
