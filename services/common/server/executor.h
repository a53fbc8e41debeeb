#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dialgrid {

// A fixed pool of threads with a bounded queue. RPC handlers that block (Redis,
// outgoing calls) run here, never on gRPC's reaction threads; when the queue
// is full, TrySubmit refuses and the caller sheds load (UNAVAILABLE).
class BoundedExecutor {
 public:
  BoundedExecutor(int threads, size_t max_queue);
  ~BoundedExecutor();  // Drain()
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  bool TrySubmit(std::function<void()> task);
  // Stops accepting, runs what is queued, joins the threads. Idempotent.
  void Drain();
  size_t queued() const;

 private:
  void Work();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dialgrid
