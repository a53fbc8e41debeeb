#pragma once

// Where the dialer runs its work: tasks posted under the same key run one at
// a time and in order (one call's events, one campaign's ticks), tasks of
// different keys in parallel. Blocking calls to peers happen on these
// threads, never on the carrier's or the scheduler's.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dialgrid::dialing {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Post(uint64_t key, std::function<void()> task) = 0;
};

// Runs every task at once on the posting thread (tests in virtual time).
class InlineExecutor final : public Executor {
 public:
  void Post(uint64_t, std::function<void()> task) override { task(); }
};

// `threads` workers; a key always goes to the same worker.
class StripedExecutor final : public Executor {
 public:
  explicit StripedExecutor(int threads);
  ~StripedExecutor() override;  // runs what was posted, then joins
  void Post(uint64_t key, std::function<void()> task) override;
  // Tasks posted and not yet finished, over all workers.
  int64_t Pending() const;

 private:
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> tasks;
    bool stop = false;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace dialgrid::dialing
