// Machine detection against fake /proc and /sys/fs/cgroup trees built in a temporary directory.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "rcmgr/system_resources.hpp"

namespace fs = std::filesystem;

namespace {
/// A fresh directory tree, removed at the end of the test.
struct fake_root {
  fs::path dir;
  fake_root() {
    static std::atomic<int> counter{0};
    dir = fs::temp_directory_path() / ("rcmgr-sysres-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~fake_root() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    const fs::path p = dir / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  /// 8 GiB of RAM.
  void meminfo() const { write("proc/meminfo", "MemTotal:        8388608 kB\nMemFree:         1000 kB\n"); }
};
constexpr std::int64_t gib = std::int64_t{1} << 30;
}  // namespace

TEST_CASE("cgroup v2: memory.max of the process's cgroup") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "0::/system.slice/node.service\n");
  r.write("sys/fs/cgroup/memory.max", "max\n");
  r.write("sys/fs/cgroup/system.slice/memory.max", "max\n");
  r.write("sys/fs/cgroup/system.slice/node.service/memory.max", "2147483648\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.physical == 8 * gib);
  CHECK(m.bytes == 2 * gib);
  CHECK(m.cgroup_limit == 2 * gib);
  CHECK(m.source == rcmgr::memory_source::cgroup_v2);
  CHECK(m.file == r.dir / "sys/fs/cgroup/system.slice/node.service/memory.max");
}

TEST_CASE("cgroup v2: a parent's limit applies to a child whose own is max") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "0::/pods/pod1/app\n");
  r.write("sys/fs/cgroup/pods/pod1/memory.max", "1073741824\n");
  r.write("sys/fs/cgroup/pods/pod1/app/memory.max", "max\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 1 * gib);
  CHECK(m.source == rcmgr::memory_source::cgroup_v2);
}

TEST_CASE("cgroup v2: \"max\" means physical RAM") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "0::/\n");
  r.write("sys/fs/cgroup/memory.max", "max\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 8 * gib);
  CHECK(m.cgroup_limit == INT64_MAX);
  CHECK(m.source == rcmgr::memory_source::physical);
}

TEST_CASE("cgroup v2: a limit above physical RAM does not raise it") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "0::/\n");
  r.write("sys/fs/cgroup/memory.max", std::to_string(64 * gib) + "\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 8 * gib);
  CHECK(m.cgroup_limit == 64 * gib);
  CHECK(m.source == rcmgr::memory_source::physical);
}

TEST_CASE("cgroup v1: memory.limit_in_bytes of the memory controller's cgroup") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n");
  r.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  r.write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "536870912\n");
  // a v2 file that must not be used: on a hybrid system memory is a v1 controller
  r.write("sys/fs/cgroup/memory.max", "1048576\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 512 * (std::int64_t{1} << 20));
  CHECK(m.source == rcmgr::memory_source::cgroup_v1);
}

TEST_CASE("cgroup v1: the huge \"unlimited\" value means physical RAM") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "9:name=systemd:/\n4:memory:/process_api/x\n");
  r.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  r.write("sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes", "9223372036854771712\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 8 * gib);
  CHECK(m.cgroup_limit == 9223372036854771712);
  CHECK(m.source == rcmgr::memory_source::physical);
}

TEST_CASE("cgroup v1 in a container: the host path is not mounted, the mount root's limit applies") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "4:memory:/kubepods/burstable/pod42/c0ffee\n");
  // inside the container the memory hierarchy's mount shows only its own cgroup
  r.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 256 * (std::int64_t{1} << 20));
  CHECK(m.source == rcmgr::memory_source::cgroup_v1);
}

TEST_CASE("mountinfo: a cgroup2 hierarchy mounted elsewhere with a sub-tree as its root") {
  fake_root r;
  r.meminfo();
  r.write("proc/self/cgroup", "0::/user.slice/session-1.scope\n");
  r.write("proc/self/mountinfo",
          "22 1 0:21 / /proc rw - proc proc rw\n"
          "30 22 0:27 /user.slice /mnt/my\\040cgroups rw,relatime shared:9 - cgroup2 cgroup2 rw\n");
  r.write("mnt/my cgroups/session-1.scope/memory.max", "3221225472\n");
  const auto m = rcmgr::detect_memory(r.dir);
  CHECK(m.bytes == 3 * gib);
  CHECK(m.source == rcmgr::memory_source::cgroup_v2);
}

TEST_CASE("missing or unreadable cgroup files fall back to physical RAM") {
  SECTION("no /proc/self/cgroup") {
    fake_root r;
    r.meminfo();
    const auto m = rcmgr::detect_memory(r.dir);
    CHECK(m.bytes == 8 * gib);
    CHECK(m.source == rcmgr::memory_source::physical);
  }
  SECTION("a cgroup but no limit file") {
    fake_root r;
    r.meminfo();
    r.write("proc/self/cgroup", "0::/somewhere\n");
    const auto m = rcmgr::detect_memory(r.dir);
    CHECK(m.bytes == 8 * gib);
    CHECK(m.cgroup_limit == INT64_MAX);
    CHECK(m.source == rcmgr::memory_source::physical);
  }
  SECTION("garbage in the limit file") {
    fake_root r;
    r.meminfo();
    r.write("proc/self/cgroup", "0::/\n");
    r.write("sys/fs/cgroup/memory.max", "lots\n");
    const auto m = rcmgr::detect_memory(r.dir);
    CHECK(m.bytes == 8 * gib);
    CHECK(m.source == rcmgr::memory_source::physical);
  }
  SECTION("nothing at all") {
    fake_root r;
    const auto m = rcmgr::detect_memory(r.dir);
    CHECK(m.bytes == 0);
    CHECK(m.physical == 0);
    CHECK(m.source == rcmgr::memory_source::unknown);
  }
}

TEST_CASE("this machine: memory and descriptors are found") {
  const auto r = rcmgr::detect_system_resources();
  CHECK(r.memory.physical > 0);
  CHECK(r.memory.bytes > 0);
  CHECK(r.memory.bytes <= r.memory.physical);
  CHECK(r.memory.source != rcmgr::memory_source::unknown);
  struct rlimit rl {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur != RLIM_INFINITY) CHECK(r.fds == static_cast<std::int64_t>(rl.rlim_cur));
  CHECK(r.fds > 0);
}
