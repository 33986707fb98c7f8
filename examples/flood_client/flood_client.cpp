// flood_client: load for examples/asio_node on loopback, from three kinds of peers at once.
//
//   honest peers   each keeps one connection and does echo requests at a steady rate: open a
//                  stream, send a request, wait for the answer (checked byte for byte), close
//   one abusive    opens /upload streams and sends large frames on them as fast as TCP lets it,
//   peer           never closing a stream
//   half-open      a burst of connections that never say hello
//
// Every loop is bounded in count and in time; the client stops by itself and prints one JSON line:
// honest requests that succeeded and in total, latency percentiles, the most streams the server
// had admitted for the abusive peer at once (counted from open_ok and reset frames), and what
// became of the half-open connections.
//
// Usage: flood_client --port N [--honest 16] [--rate-ms 25] [--seconds 6] [--request-bytes 1024]
//                     [--abusive-mib 512] [--frame-kib 1024] [--frames-per-stream 1]
//                     [--streams-per-burst 16] [--data-streams-per-burst 4]
//                     [--half-open 200] [--max-seconds 40]
// Connects to 127.0.0.1 only.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../asio_node/protocol.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using node_proto::frame_type;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  unsigned short port = 0;
  int honest = 16;
  int rate_ms = 25;           ///< interval between one honest peer's requests
  int seconds = 6;            ///< how long honest peers and the abusive peer run
  int request_bytes = 1024;
  int abusive_mib = 512;      ///< most the abusive peer sends in total (MiB)
  int frame_kib = 1024;       ///< its frame size (KiB)
  int frames_per_stream = 1;
  int streams_per_burst = 16;
  int data_streams_per_burst = 4;  ///< the others stay open and idle
  int half_open = 200;
  int max_seconds = 40;       ///< hard bound on the whole run
};

struct results {
  std::uint64_t honest_ok = 0, honest_total = 0, honest_reset = 0, honest_timeout = 0, honest_conn_failed = 0;
  std::vector<double> latencies_ms;
  std::int64_t abusive_open_now = 0, abusive_max_streams = 0, abusive_opened = 0, abusive_reset = 0;
  std::uint64_t abusive_bytes = 0;
  bool abusive_closed_by_server = false;
  int half_open_connected = 0, half_open_closed_by_server = 0;
  int half_open_closed_at_once = 0;  ///< closed by the server within 100 ms of connecting
};

/// A connection with a frame reader and a write queue.
class peer_conn : public std::enable_shared_from_this<peer_conn> {
 public:
  peer_conn(net::io_context& io, results& r, std::string id) : sock_(io), res_(r), id_(std::move(id)) {}
  virtual ~peer_conn() = default;

  void connect(unsigned short port) {
    sock_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->on_closed(true);
      boost::system::error_code ignored;
      self->sock_.set_option(tcp::no_delay(true), ignored);  // small frames go out at once
      self->on_connected();
    });
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
  bool closed() const noexcept { return closed_; }

 protected:
  virtual void on_connected() = 0;
  virtual void on_frame(const node_proto::header& h, const std::vector<unsigned char>& payload) = 0;
  virtual void on_closed(bool by_peer) = 0;
  /// Called when the write queue is empty (the abusive peer refills it here).
  virtual void on_drained() {}

  void hello() {
    send(frame_type::hello, 0, std::vector<unsigned char>(id_.begin(), id_.end()));
    read_header();
  }
  void send(frame_type t, std::uint32_t stream, std::vector<unsigned char> payload) {
    auto head = node_proto::encode({std::uint32_t(payload.size()), t, stream});
    out_.push_back(std::vector<unsigned char>(head.begin(), head.end()));
    if (!payload.empty()) out_.push_back(std::move(payload));
    if (!writing_) write_next();
  }
  /// Sends a frame whose payload is shared (not copied): the abusive peer's large frames.
  void send_shared(frame_type t, std::uint32_t stream, const std::shared_ptr<const std::vector<unsigned char>>& payload) {
    auto head = node_proto::encode({std::uint32_t(payload->size()), t, stream});
    out_.push_back(std::vector<unsigned char>(head.begin(), head.end()));
    shared_.push_back(payload);
    out_.push_back({});  // marker: the next shared buffer
    if (!writing_) write_next();
  }
  std::size_t queued() const noexcept { return out_.size(); }

  tcp::socket sock_;
  results& res_;
  std::string id_;

 private:
  void write_next() {
    if (closed_) return;
    if (out_.empty()) {
      writing_ = false;
      on_drained();
      return;
    }
    writing_ = true;
    net::const_buffer b;
    if (out_.front().empty()) b = net::buffer(*shared_.front());
    else b = net::buffer(out_.front());
    net::async_write(sock_, b, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->fail();
      if (self->out_.front().empty()) self->shared_.pop_front();
      self->out_.pop_front();
      self->write_next();
    });
  }
  void read_header() {
    net::async_read(sock_, net::buffer(head_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->fail();
      const auto h = node_proto::decode(self->head_.data());
      if (h.length > node_proto::max_payload) return self->fail();
      self->in_.resize(h.length);
      net::async_read(self->sock_, net::buffer(self->in_), [self, h](const boost::system::error_code& ec2, std::size_t) {
        if (ec2) return self->fail();
        self->on_frame(h, self->in_);
        if (!self->closed_) self->read_header();
      });
    });
  }
  void fail() {
    if (closed_) return;
    close();
    on_closed(true);
  }

  bool closed_ = false, writing_ = false;
  std::array<unsigned char, node_proto::header_size> head_{};
  std::vector<unsigned char> in_;
  std::deque<std::vector<unsigned char>> out_;
  std::deque<std::shared_ptr<const std::vector<unsigned char>>> shared_;
};

/// An honest peer: one echo request at a time, every rate_ms, `count` of them.
class honest_peer : public peer_conn {
 public:
  honest_peer(net::io_context& io, results& r, std::string id, const options& o, int count)
      : peer_conn(io, r, std::move(id)), timer_(io), opts_(o), left_(count) {}
  bool finished() const noexcept { return left_ == 0 && !busy_; }
  bool ready() const noexcept { return ready_; }

  void begin() { schedule(clock_type::now()); }

 private:
  void on_connected() override { hello(); }
  void on_closed(bool) override {
    timer_.cancel();
    // everything not yet done fails
    if (busy_) busy_ = false;
    res_.honest_total += std::uint64_t(left_);
    if (!ready_) ++res_.honest_conn_failed;
    left_ = 0;
  }
  void schedule(clock_type::time_point at) {
    if (left_ == 0 || closed()) return;
    timer_.expires_at(at);
    timer_.async_wait([self = std::static_pointer_cast<honest_peer>(shared_from_this())](const boost::system::error_code& ec) {
      if (!ec) self->request();
    });
  }
  void request() {
    if (left_ == 0 || closed()) return;
    --left_;
    ++res_.honest_total;
    busy_ = true;
    sid_ += 2;
    expected_.assign(std::size_t(opts_.request_bytes), 0);
    for (std::size_t i = 0; i < expected_.size(); ++i) expected_[i] = static_cast<unsigned char>((sid_ * 31 + i) & 0xff);
    started_ = clock_type::now();
    send(frame_type::open, sid_, std::vector<unsigned char>(node_proto::echo_protocol.begin(), node_proto::echo_protocol.end()));
    send(frame_type::data, sid_, expected_);
    // A request unanswered within 5 s counts as failed.
    timer_.expires_after(std::chrono::seconds(5));
    timer_.async_wait([self = std::static_pointer_cast<honest_peer>(shared_from_this()), sid = sid_](const boost::system::error_code& ec) {
      if (!ec && self->busy_ && self->sid_ == sid) {
        ++self->res_.honest_timeout;
        self->done_request(false);
      }
    });
  }
  void done_request(bool ok) {
    busy_ = false;
    if (ok) {
      ++res_.honest_ok;
      res_.latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - started_).count());
    }
    send(frame_type::close, sid_, {});
    schedule(started_ + std::chrono::milliseconds(opts_.rate_ms));
  }
  void on_frame(const node_proto::header& h, const std::vector<unsigned char>& p) override {
    switch (h.type) {
      case frame_type::hello_ok: ready_ = true; break;
      case frame_type::goaway: close(); on_closed(true); break;
      case frame_type::open_ok: break;
      case frame_type::data:
        if (busy_ && h.stream == sid_) {
          timer_.cancel();
          done_request(p == expected_);
        }
        break;
      case frame_type::reset:
        if (busy_ && h.stream == sid_) {
          ++res_.honest_reset;
          timer_.cancel();
          std::cerr << "honest request reset: " << std::string(p.begin(), p.end()) << '\n';
          done_request(false);
        }
        break;
      default: break;
    }
  }

  net::steady_timer timer_;
  const options& opts_;
  int left_;
  bool busy_ = false, ready_ = false;
  std::uint32_t sid_ = 1;
  std::vector<unsigned char> expected_;
  clock_type::time_point started_;
};

/// The abusive peer: streams and large frames as fast as the socket takes them.
class abusive_peer : public peer_conn {
 public:
  abusive_peer(net::io_context& io, results& r, const options& o, clock_type::time_point stop_at)
      : peer_conn(io, r, "12D3KooWAbusiveFloodPeer000000000000000000000000000"), opts_(o), stop_at_(stop_at),
        frame_(std::make_shared<const std::vector<unsigned char>>(std::size_t(o.frame_kib) << 10, 0xab)) {}
  void stop() { stopping_ = true; }

 private:
  void on_connected() override {
    hello();
    on_drained();
  }
  void on_closed(bool) override { res_.abusive_closed_by_server = true; }
  void on_drained() override {
    // Keep a few frames queued; stop after the budget or the time.
    const std::uint64_t budget = std::uint64_t(opts_.abusive_mib) << 20;
    if (stopping_ || closed() || res_.abusive_bytes >= budget || clock_type::now() >= stop_at_) return;
    // a burst of new streams, then large frames on each of them; none is ever closed
    const std::uint32_t first = sid_ + 2;
    for (int i = 0; i < opts_.streams_per_burst; ++i) {
      sid_ += 2;
      ++res_.abusive_opened;
      send(frame_type::open, sid_, std::vector<unsigned char>(node_proto::upload_protocol.begin(), node_proto::upload_protocol.end()));
    }
    const std::uint32_t last_with_data = first + 2 * std::uint32_t(opts_.data_streams_per_burst - 1);
    for (std::uint32_t s = first; s <= sid_ && s <= last_with_data; s += 2) {
      for (int i = 0; i < opts_.frames_per_stream; ++i) {
        send_shared(frame_type::data, s, frame_);
        res_.abusive_bytes += frame_->size();
      }
    }
  }
  void on_frame(const node_proto::header& h, const std::vector<unsigned char>& p) override {
    if (h.type == frame_type::open_ok) {
      open_.insert(h.stream);
      res_.abusive_max_streams = std::max(res_.abusive_max_streams, std::int64_t(open_.size()));
    } else if (h.type == frame_type::reset) {
      if (res_.abusive_reset == 0) std::cerr << "abusive peer: first reset: " << std::string(p.begin(), p.end()) << '\n';
      ++res_.abusive_reset;
      open_.erase(h.stream);
    } else if (h.type == frame_type::goaway) {
      close();
      on_closed(true);
    }
  }

  const options& opts_;
  clock_type::time_point stop_at_;
  std::shared_ptr<const std::vector<unsigned char>> frame_;
  std::set<std::uint32_t> open_;
  std::uint32_t sid_ = 1;
  bool stopping_ = false;
};

/// A connection that never says hello; it only notices when the server closes it.
class half_open_peer : public peer_conn {
 public:
  half_open_peer(net::io_context& io, results& r) : peer_conn(io, r, {}) {}

 private:
  void on_connected() override {
    ++res_.half_open_connected;
    const auto connected = clock_type::now();
    sock_.async_wait(tcp::socket::wait_read, [self = std::static_pointer_cast<half_open_peer>(shared_from_this()), connected](const boost::system::error_code& ec) {
      if (!ec && !self->closed()) {
        ++self->res_.half_open_closed_by_server;  // readable without our hello: EOF from the server
        if (clock_type::now() - connected < std::chrono::milliseconds(100)) ++self->res_.half_open_closed_at_once;
        self->close();
      }
    });
  }
  void on_frame(const node_proto::header&, const std::vector<unsigned char>&) override {}
  void on_closed(bool) override {}
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = std::size_t(p * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--port") o.port = static_cast<unsigned short>(v);
    else if (a == "--honest") o.honest = v;
    else if (a == "--rate-ms") o.rate_ms = v;
    else if (a == "--seconds") o.seconds = v;
    else if (a == "--request-bytes") o.request_bytes = v;
    else if (a == "--abusive-mib") o.abusive_mib = v;
    else if (a == "--frame-kib") o.frame_kib = v;
    else if (a == "--frames-per-stream") o.frames_per_stream = v;
    else if (a == "--streams-per-burst") o.streams_per_burst = v;
    else if (a == "--data-streams-per-burst") o.data_streams_per_burst = v;
    else if (a == "--half-open") o.half_open = v;
    else if (a == "--max-seconds") o.max_seconds = v;
    else return std::cerr << "unknown option " << a << '\n', 2;
  }
  if (o.port == 0) return std::cerr << "--port is required\n", 2;
  o.honest = std::clamp(o.honest, 0, 200);
  o.half_open = std::clamp(o.half_open, 0, 1000);
  o.frame_kib = std::clamp(o.frame_kib, 1, int(node_proto::max_payload >> 10));
  o.frames_per_stream = std::clamp(o.frames_per_stream, 1, 64);
  o.streams_per_burst = std::clamp(o.streams_per_burst, 1, 256);
  o.data_streams_per_burst = std::clamp(o.data_streams_per_burst, 1, o.streams_per_burst);

  net::io_context io(1);
  results res;
  const auto start = clock_type::now();
  const int per_peer = std::max(1, o.seconds * 1000 / std::max(1, o.rate_ms));

  // 1. honest peers connect and say hello
  std::vector<std::shared_ptr<honest_peer>> honest;
  for (int i = 0; i < o.honest; ++i) {
    auto p = std::make_shared<honest_peer>(io, res, "12D3KooWHonestPeer" + std::to_string(1000 + i), o, per_peer);
    p->connect(o.port);
    honest.push_back(p);
  }
  for (int i = 0; i < 300 && !std::all_of(honest.begin(), honest.end(), [](auto& p) { return p->ready() || p->closed(); }); ++i)
    io.run_for(std::chrono::milliseconds(10));

  // 2. the attack begins with the requests
  for (auto& p : honest) p->begin();
  const auto attack_end = clock_type::now() + std::chrono::seconds(o.seconds);
  auto abusive = std::make_shared<abusive_peer>(io, res, o, attack_end);
  abusive->connect(o.port);
  std::vector<std::shared_ptr<half_open_peer>> half_open;
  for (int i = 0; i < o.half_open; ++i) {
    auto p = std::make_shared<half_open_peer>(io, res);
    p->connect(o.port);
    half_open.push_back(p);
  }

  // 3. run until every honest peer is done (bounded by the hard limit)
  const auto hard_end = start + std::chrono::seconds(o.max_seconds);
  while (clock_type::now() < hard_end) {
    io.run_for(std::chrono::milliseconds(20));
    const bool honest_done = std::all_of(honest.begin(), honest.end(), [](auto& p) { return p->finished() || p->closed(); });
    if (honest_done && clock_type::now() >= attack_end) break;
  }

  // 4. everyone leaves
  abusive->stop();
  abusive->close();
  for (auto& p : honest) p->close();
  for (auto& p : half_open) p->close();
  io.run_for(std::chrono::milliseconds(100));
  io.stop();

  std::cout << "{\"report\":\"flood_client\",\"honest_ok\":" << res.honest_ok << ",\"honest_total\":" << res.honest_total
            << ",\"honest_reset\":" << res.honest_reset << ",\"honest_timeout\":" << res.honest_timeout
            << ",\"honest_conn_failed\":" << res.honest_conn_failed << ",\"p50_ms\":" << percentile(res.latencies_ms, 0.50)
            << ",\"p99_ms\":" << percentile(res.latencies_ms, 0.99) << ",\"abusive_max_streams\":" << res.abusive_max_streams
            << ",\"abusive_opened\":" << res.abusive_opened << ",\"abusive_reset\":" << res.abusive_reset
            << ",\"abusive_mib_sent\":" << (res.abusive_bytes >> 20)
            << ",\"abusive_closed_by_server\":" << (res.abusive_closed_by_server ? "true" : "false")
            << ",\"half_open\":" << o.half_open << ",\"half_open_connected\":" << res.half_open_connected
            << ",\"half_open_closed_by_server\":" << res.half_open_closed_by_server
            << ",\"half_open_closed_at_once\":" << res.half_open_closed_at_once << ",\"seconds\":"
            << std::chrono::duration<double>(clock_type::now() - start).count() << "}" << std::endl;
  return 0;
}
