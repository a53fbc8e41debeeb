#include "services/dialing/application/executor.h"

namespace dialgrid::dialing {

StripedExecutor::StripedExecutor(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    Worker* raw = w.get();
    w->thread = std::thread([raw] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock<std::mutex> lock(raw->mu);
          raw->cv.wait(lock, [raw] { return raw->stop || !raw->tasks.empty(); });
          if (raw->tasks.empty()) return;  // stopping and drained
          task = std::move(raw->tasks.front());
        }
        task();
        std::lock_guard<std::mutex> lock(raw->mu);
        raw->tasks.pop_front();
      }
    });
    workers_.push_back(std::move(w));
  }
}

StripedExecutor::~StripedExecutor() {
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->stop = true;
    w->cv.notify_one();
  }
  for (auto& w : workers_) w->thread.join();
}

void StripedExecutor::Post(uint64_t key, std::function<void()> task) {
  Worker& w = *workers_[key % workers_.size()];
  std::lock_guard<std::mutex> lock(w.mu);
  if (w.stop) return;
  w.tasks.push_back(std::move(task));
  w.cv.notify_one();
}

int64_t StripedExecutor::Pending() const {
  int64_t n = 0;
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    n += static_cast<int64_t>(w->tasks.size());
  }
  return n;
}

}  // namespace dialgrid::dialing
