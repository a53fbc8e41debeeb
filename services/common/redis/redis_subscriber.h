#pragma once

// A Redis Pub/Sub subscription to one channel, on a connection and thread of
// its own: every message is handed to `on_message`; the connection is
// re-established after a failure (with back-off), and `on_subscribed` runs
// each time the subscription is (re)established, so the owner can recover
// what it may have missed while it was down (Pub/Sub does not keep messages).
// Every (re)connection logs in with the options' credentials (else the
// process default, redis::SetDefaultCredentials); a refusal is logged with
// reason REDIS_AUTH_FAILED and retried with back-off.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/redis/redis_client.h"

namespace dialgrid::redis {

class Subscriber {
 public:
  using OnMessage = std::function<void(absl::string_view payload)>;

  Subscriber(Options options, std::string channel, OnMessage on_message,
             std::function<void()> on_subscribed);
  ~Subscriber();  // Stop()
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void Start();
  // Returns once the thread has left (within about 100 ms).
  void Stop();
  // Whether the subscription is live now.
  bool subscribed() const { return subscribed_.load(); }
  // Times it was (re)established.
  int64_t subscriptions() const { return subscriptions_.load(); }

 private:
  void Run();
  // One connection's life: connect (and AUTH), subscribe, read until an
  // error or Stop. Why it ended.
  absl::Status Session();

  const Options options_;
  const std::string channel_;
  const OnMessage on_message_;
  const std::function<void()> on_subscribed_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<int64_t> subscriptions_{0};
  std::thread thread_;
};

}  // namespace dialgrid::redis
