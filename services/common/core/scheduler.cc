#include "services/common/core/scheduler.h"

namespace dialgrid {

// ---- TaskQueue ----

Scheduler::TaskId TaskQueue::Add(absl::Time when, Task task) {
  Scheduler::TaskId id = next_id_++;
  due_.emplace(when, std::make_pair(id, std::move(task)));
  when_[id] = when;
  return id;
}

void TaskQueue::Cancel(Scheduler::TaskId id) {
  auto w = when_.find(id);
  if (w == when_.end()) return;
  auto range = due_.equal_range(w->second);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.first == id) {
      due_.erase(it);
      break;
    }
  }
  when_.erase(w);
}

absl::Time TaskQueue::NextDue() const {
  return due_.empty() ? absl::InfiniteFuture() : due_.begin()->first;
}

bool TaskQueue::PopDue(absl::Time now, Scheduler::TaskId& id, Task& task) {
  if (due_.empty() || due_.begin()->first > now) return false;
  auto it = due_.begin();
  id = it->second.first;
  task = std::move(it->second.second);
  due_.erase(it);
  // Stays in when_ while it runs (Cancelled() is false) if periodic.
  if (task.period <= absl::ZeroDuration()) when_.erase(id);
  return true;
}

void TaskQueue::Reschedule(Scheduler::TaskId id, absl::Time when, Task task) {
  auto w = when_.find(id);
  if (w == when_.end()) return;  // cancelled while it ran
  w->second = when;
  due_.emplace(when, std::make_pair(id, std::move(task)));
}

bool TaskQueue::Cancelled(Scheduler::TaskId id) const { return when_.count(id) == 0; }

// ---- ThreadScheduler ----

ThreadScheduler::ThreadScheduler(const Clock& clock) : clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

ThreadScheduler::~ThreadScheduler() { Stop(); }

Scheduler::TaskId ThreadScheduler::Every(absl::Duration period, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  TaskId id = queue_.Add(clock_.Now() + period, {period, std::move(fn)});
  cv_.notify_all();
  return id;
}

Scheduler::TaskId ThreadScheduler::At(absl::Time when, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  TaskId id = queue_.Add(when, {absl::ZeroDuration(), std::move(fn)});
  cv_.notify_all();
  return id;
}

void ThreadScheduler::Cancel(TaskId id) {
  std::unique_lock<std::mutex> lock(mu_);
  queue_.Cancel(id);
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from the task itself
  cv_.wait(lock, [&] { return running_ != id; });
}

void ThreadScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThreadScheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    TaskId id = 0;
    TaskQueue::Task task;
    absl::Time now = clock_.Now();
    if (!queue_.PopDue(now, id, task)) {
      absl::Time next = queue_.NextDue();
      if (next == absl::InfiniteFuture()) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, absl::ToChronoNanoseconds(next - now));
      }
      continue;
    }
    running_ = id;
    lock.unlock();
    task.fn();
    lock.lock();
    running_ = 0;
    if (task.period > absl::ZeroDuration()) {
      queue_.Reschedule(id, clock_.Now() + task.period, std::move(task));
    }
    cv_.notify_all();
  }
}

// ---- ManualScheduler ----

Scheduler::TaskId ManualScheduler::Every(absl::Duration period, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.Add(clock_.Now() + period, {period, std::move(fn)});
}

Scheduler::TaskId ManualScheduler::At(absl::Time when, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.Add(when, {absl::ZeroDuration(), std::move(fn)});
}

void ManualScheduler::Cancel(TaskId id) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.Cancel(id);
}

int ManualScheduler::AdvanceTo(absl::Time t) {
  int runs = 0;
  for (;;) {
    TaskId id = 0;
    TaskQueue::Task task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      absl::Time due = queue_.NextDue();
      if (due > t || !queue_.PopDue(due, id, task)) break;
      if (due > clock_.Now()) clock_.Set(due);
    }
    task.fn();
    ++runs;
    std::lock_guard<std::mutex> lock(mu_);
    if (task.period > absl::ZeroDuration()) {
      queue_.Reschedule(id, clock_.Now() + task.period, std::move(task));
    }
  }
  if (t > clock_.Now()) clock_.Set(t);
  return runs;
}

}  // namespace dialgrid
