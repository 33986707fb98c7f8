// asio_node: a TCP server on 127.0.0.1 that admits every piece of work through rcmgr.
//
// It is written to be copied: each place where a server spends something -- a socket, a peer's
// share, a stream, a receive buffer, a response -- asks the resource manager first and has a
// plan for "no". Look for the lines marked "rcmgr:".
//
//   accept            open_connection(inbound, use_fd, remote endpoint); refused: close at once
//   hello frame       set_peer(peer id); refused: goaway and close
//   open frame        open_stream(peer), set_protocol(name), a 16 KiB window at priority always;
//                     refused: reset that stream, the connection goes on
//   data frame        the stream's window grows at priority low to take the frame; refused: the
//                     frame waits up to 200 ms for memory (rcmgr::asio::capacity_queue), reading
//                     nothing more from that connection; then it is read into a small fixed buffer
//                     and dropped, and the stream is reset
//   echo request      a span on the stream holds the response until it is written
//   every frame out   charged to the connection until written; refused: the peer does not read,
//                     close it
//
// Built twice: asio_node (rcmgr::resource_manager) and asio_node_unprotected (the same source on
// rcmgr::null_resource_manager, which admits everything), for the comparison run in
// scripts/node-under-attack.
//
// Usage: asio_node [--port N] [--memory-mib M] [--hello-timeout-ms T] [--max-seconds S]
// Prints "listening 127.0.0.1:<port>" once ready; on SIGTERM or SIGINT it stops accepting, waits
// up to 3 s for the remaining connections to end, prints one JSON line of its counters and exits.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol.hpp"
#include "rcmgr/asio/capacity_queue.hpp"
#include "rcmgr/capacity_signal.hpp"
#include "rcmgr/memory_reservation.hpp"
#include "rcmgr/rcmgr.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;
using node_proto::frame_type;
using node_proto::header;
using rcmgr::memory_reservation;

/// The manager's observer: refusal counters for the report, and the capacity signal that wakes
/// streams waiting for window memory. (Two observers composed by hand: one type calling both.)
struct node_observer : rcmgr::capacity_signal {
  rcmgr::counting_observer counts;
  void on_event(const rcmgr::scope_event& e) noexcept {
    counts.on_event(e);
    capacity_signal::on_event(e);
  }
};

#if defined(RCMGR_NODE_UNPROTECTED)
using manager_type = rcmgr::null_resource_manager;
inline constexpr bool protected_node = false;
#else
// One event-loop thread drives everything: no atomics needed in the counters.
using manager_type = rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<node_observer>>;
inline constexpr bool protected_node = true;
#endif

namespace {

constexpr std::size_t scratch_size = 4096;           ///< per connection: small frames, dropped payloads
constexpr std::int64_t initial_window = 16 << 10;    ///< bytes a new stream may receive at once
constexpr std::size_t max_control_payload = 256;     ///< hello and open payloads (bytes)
constexpr auto window_wait = std::chrono::milliseconds(200);  ///< how long a frame waits for window memory

struct options {
  unsigned short port = 0;
  std::int64_t memory_mib = 48;      ///< the system scope's memory limit
  int hello_timeout_ms = 2000;       ///< a connection that has not said hello by then is closed
  int max_seconds = 120;             ///< the server stops by itself after this long
};

/// The limits this node runs with, derived from its memory budget.
rcmgr::libp2p::limits node_limits(std::int64_t memory) {
  namespace lp = rcmgr::libp2p;
  lp::limits l = lp::default_limits();
  l.set<lp::system_scope>({1024, 1024, 1024, 256, 256, 256, 512, memory});
  l.set<lp::transient_scope>({128, 128, 128, 32, 32, 32, 64, memory / 8});
  l.set<lp::peer_scope>({64, 64, 64, 8, 8, 8, 8, memory / 4});
  rcmgr::limit conn = l.get<lp::connection_scope>();
  conn.memory = 8 << 20;  // a connection's own buffers and queued frames
  l.set<lp::connection_scope>(conn);
  rcmgr::limit stream = l.get<lp::stream_scope>();
  stream.memory = 4 << 20;
  l.set<lp::stream_scope>(stream);
  return l;
}

/// What the node counts for its report (its own view, next to rcmgr's).
struct node_counters {
  std::uint64_t accepted = 0, conns_refused = 0, hello_timeouts = 0, peers_refused = 0;
  std::uint64_t streams_opened = 0, streams_refused = 0, windows_refused = 0, responses_refused = 0;
  std::uint64_t window_waits = 0, windows_granted_after_wait = 0;
  std::uint64_t requests_served = 0, uploads_done = 0, slow_readers_closed = 0, protocol_errors = 0;
  std::uint64_t live_connections = 0, live_streams = 0;
  std::map<std::string, std::int64_t> max_streams_by_peer;  ///< most streams a peer had open at once
};

class node;

/// A frame waiting to be written, with the reservation that pays for it.
struct outgoing {
  std::array<unsigned char, node_proto::header_size> head;
  std::vector<unsigned char> payload;
  memory_reservation charge;                  ///< the frame's bytes, released once written
  std::unique_ptr<manager_type::span<rcmgr::libp2p::stream_scope>> span;  ///< a response's span, if any
};

/// One multiplexed stream of a connection.
struct stream_state {
  manager_type::stream scope;
  std::string protocol;
  memory_reservation window;                   ///< what the stream may hold received
  std::vector<std::vector<unsigned char>> upload;  ///< /upload: chunks received so far (exact sizes)
  std::int64_t held = 0;                      ///< bytes in `upload`
  std::unique_ptr<rcmgr::asio::capacity_queue> waiting;  ///< made on the first wait for window memory
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(node& n, tcp::socket s, manager_type::connection scope, memory_reservation fixed);
  void start();
  void close(std::string_view why);

 private:
  void read_header();
  void on_header();
  void read_payload(std::size_t n, void (connection::*then)(std::size_t));
  void on_hello(std::size_t n);
  void on_open(std::size_t n);
  void on_data_header();
  void read_data(std::size_t len);
  std::unique_ptr<rcmgr::asio::capacity_queue> make_window_queue(const manager_type::stream& scope);
  void on_data(std::size_t n);
  void on_close_frame();
  void discard(std::size_t left, std::uint32_t reset_stream, std::string why);
  void reset_stream(std::uint32_t id, std::string_view why);
  void send(frame_type t, std::uint32_t stream, std::vector<unsigned char> payload, memory_reservation charge = {},
            std::unique_ptr<manager_type::span<rcmgr::libp2p::stream_scope>> span = {});
  void write_next();

  node& node_;
  tcp::socket sock_;
  manager_type::connection scope_;   // rcmgr: the connection's scope, ended with this object
  memory_reservation fixed_;         // rcmgr: scratch_ and this object, charged at accept
  net::steady_timer hello_timer_;
  bool said_hello_ = false, closed_ = false, writing_ = false;
  rcmgr::peer_id peer_;
  std::string peer_text_;
  std::array<unsigned char, node_proto::header_size> head_{};
  header h_{};
  std::array<unsigned char, scratch_size> scratch_{};
  std::map<std::uint32_t, std::unique_ptr<stream_state>> streams_;
  std::vector<unsigned char> rx_;    // the data frame being read (within its stream's window)
  std::deque<outgoing> out_;
};

class node {
 public:
  node(net::io_context& io, const options& o)
      : io_(io), opts_(o), acceptor_(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), o.port)),
        mgr_(node_limits(o.memory_mib << 20)), signals_(io, SIGTERM, SIGINT), deadline_(io) {}

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  manager_type& manager() noexcept { return mgr_; }
  node_counters& counters() noexcept { return counters_; }
  const options& opts() const noexcept { return opts_; }

  void start() {
    accept();
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) stop();
    });
    deadline_.expires_after(std::chrono::seconds(opts_.max_seconds));
    deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stop();
    });
  }
  void track(const std::shared_ptr<connection>& c) { live_.insert(c); }
  void forget(const std::shared_ptr<connection>& c) { live_.erase(c); }
  std::size_t live() const noexcept { return live_.size(); }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;  // the acceptor was closed (stopping)
      ++counters_.accepted;
      boost::system::error_code ep_ec;
      s.set_option(tcp::no_delay(true), ep_ec);  // small frames go out at once
      const auto remote = s.remote_endpoint(ep_ec);
      const std::string addr = "/ip4/" + remote.address().to_string() + "/tcp/" + std::to_string(remote.port());
      // rcmgr: a socket is a connection and a file descriptor, charged to transient until the
      // peer says who it is. Refused (a flood of half-open connections, or the node is full):
      // close before reading a byte.
      auto conn = mgr_.open_connection(rcmgr::direction::inbound, /*use_fd=*/true, addr);
      if (!conn) {
        ++counters_.conns_refused;
        s.close(ep_ec);
      } else {
        // rcmgr: the connection object and its scratch buffer are the connection's memory.
        auto fixed = memory_reservation::reserve(*conn, std::int64_t(sizeof(connection)), rcmgr::priority::always);
        if (!fixed) {
          ++counters_.conns_refused;
          s.close(ep_ec);
        } else {
          auto c = std::make_shared<connection>(*this, std::move(s), std::move(*conn), std::move(*fixed));
          track(c);
          c->start();
        }
      }
      accept();
    });
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    deadline_.cancel();
    wait_then_report(std::chrono::steady_clock::now() + std::chrono::seconds(3));
  }
  // Clients close their sockets before the server is told to stop; give their last frames and
  // EOFs up to 3 s to arrive, so the report shows what the node holds once they are gone.
  void wait_then_report(std::chrono::steady_clock::time_point until) {
    if (live_.empty() || std::chrono::steady_clock::now() >= until) {
      report();
      auto left = live_;
      for (const auto& c : left) c->close("server stopping");
      io_.stop();
      return;
    }
    deadline_.expires_after(std::chrono::milliseconds(20));
    deadline_.async_wait([this, until](const boost::system::error_code&) { wait_then_report(until); });
  }

  void report();

  net::io_context& io_;
  options opts_;
  tcp::acceptor acceptor_;
  manager_type mgr_;
  net::signal_set signals_;
  net::steady_timer deadline_;
  node_counters counters_;
  std::set<std::shared_ptr<connection>> live_;
  bool stopping_ = false;
};

connection::connection(node& n, tcp::socket s, manager_type::connection scope, memory_reservation fixed)
    : node_(n), sock_(std::move(s)), scope_(std::move(scope)), fixed_(std::move(fixed)), hello_timer_(sock_.get_executor()) {
  ++node_.counters().live_connections;
}

std::unique_ptr<rcmgr::asio::capacity_queue> connection::make_window_queue(const manager_type::stream& scope) {
#if defined(RCMGR_NODE_UNPROTECTED)
  static node_observer never_signalled;  // the null manager never refuses, so nothing ever waits
  return std::make_unique<rcmgr::asio::capacity_queue>(sock_.get_executor(), scope, never_signalled);
#else
  return std::make_unique<rcmgr::asio::capacity_queue>(sock_.get_executor(), scope, node_.manager().observer());
#endif
}

void connection::start() {
  // A connection that never says hello holds a transient slot; it gets a bounded time to do so.
  hello_timer_.expires_after(std::chrono::milliseconds(node_.opts().hello_timeout_ms));
  hello_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->said_hello_) {
      ++self->node_.counters().hello_timeouts;
      self->close("no hello");
    }
  });
  read_header();
}

void connection::close(std::string_view) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  hello_timer_.cancel();
  sock_.close(ec);
  node_.counters().live_streams -= streams_.size();
  streams_.clear();  // rcmgr: every stream handle ends here, releasing its window
  out_.clear();
  rx_ = {};
  // rcmgr: ending the connection releases its slot, its descriptor and everything charged to it;
  // the peer scope is collected once its last connection and stream are gone.
  scope_.done();
  --node_.counters().live_connections;
  node_.forget(shared_from_this());
}

void connection::read_header() {
  net::async_read(sock_, net::buffer(head_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    if (ec) return self->close("read failed");
    self->h_ = node_proto::decode(self->head_.data());
    self->on_header();
  });
}

void connection::read_payload(std::size_t n, void (connection::*then)(std::size_t)) {
  net::async_read(sock_, net::buffer(scratch_.data(), n), [self = shared_from_this(), then, n](const boost::system::error_code& ec, std::size_t) {
    if (ec) return self->close("read failed");
    ((*self).*then)(n);
  });
}

void connection::on_header() {
  if (!node_proto::known_type(h_.type) || h_.length > node_proto::max_payload) {
    ++node_.counters().protocol_errors;
    return close("bad frame");
  }
  if (!said_hello_ && h_.type != frame_type::hello) {
    ++node_.counters().protocol_errors;
    return close("hello first");
  }
  switch (h_.type) {
    case frame_type::hello:
      if (said_hello_ || h_.length > max_control_payload) return close("bad hello");
      return read_payload(h_.length, &connection::on_hello);
    case frame_type::open:
      if (h_.length > max_control_payload) return close("bad open");
      return read_payload(h_.length, &connection::on_open);
    case frame_type::data: return on_data_header();
    case frame_type::close:
      if (h_.length != 0) return close("bad close");
      return on_close_frame();
    default: ++node_.counters().protocol_errors; return close("unexpected frame");
  }
}

void connection::on_hello(std::size_t n) {
  peer_text_.assign(reinterpret_cast<const char*>(scratch_.data()), n);
  peer_ = rcmgr::peer_id(peer_text_);
  // rcmgr: the peer is known: its usage moves from transient to the peer's scope. Refused (this
  // peer already has all the connections it may have, or the node is full): say so and close.
  if (auto r = scope_.set_peer(peer_); !r) {
    ++node_.counters().peers_refused;
    const std::string why = r.error().message();
    send(frame_type::goaway, 0, {why.begin(), why.end()});
    return close("peer refused");
  }
  said_hello_ = true;
  hello_timer_.cancel();
  send(frame_type::hello_ok, 0, {});
  read_header();
}

void connection::on_open(std::size_t n) {
  const std::uint32_t id = h_.stream;
  const std::string proto(reinterpret_cast<const char*>(scratch_.data()), n);
  if (streams_.count(id) != 0) return close("stream id reused");
  auto& mgr = node_.manager();
  // rcmgr: a stream counts against its peer (and transient until the protocol is set), then
  // against its protocol and the protocol's per-peer share.
  auto s = mgr.open_stream(peer_, rcmgr::direction::inbound);
  if (!s) {
    ++node_.counters().streams_refused;
    reset_stream(id, s.error().message());
    return read_header();
  }
  if (proto != node_proto::echo_protocol && proto != node_proto::upload_protocol) {
    reset_stream(id, "unknown protocol");
    return read_header();
  }
  if (auto r = s->set_protocol(proto); !r) {
    ++node_.counters().streams_refused;
    reset_stream(id, r.error().message());
    return read_header();
  }
  // rcmgr: the stream's receive window, at priority always: a stream cannot work without it.
  auto st = std::make_unique<stream_state>();
  st->window = memory_reservation(*s);
  if (auto r = st->window.grow(initial_window + std::int64_t(sizeof(stream_state)), rcmgr::priority::always); !r) {
    ++node_.counters().streams_refused;
    reset_stream(id, r.error().message());
    return read_header();
  }
  st->scope = std::move(*s);  // moving the handle is safe: the window holds the scope itself
  st->protocol = proto;
  streams_.emplace(id, std::move(st));
  ++node_.counters().streams_opened;
  ++node_.counters().live_streams;
  auto& most = node_.counters().max_streams_by_peer[peer_text_];
  most = std::max(most, std::int64_t(streams_.size()));
  send(frame_type::open_ok, id, {});
  read_header();
}

void connection::on_data_header() {
  const std::size_t len = h_.length;
  const std::uint32_t id = h_.stream;
  auto it = streams_.find(id);
  if (it == streams_.end()) return discard(len, 0, {});  // a stream already reset: drop its data
  stream_state& st = *it->second;
  // rcmgr: the window must hold what the stream already keeps plus this frame. Growing it is
  // optional work, asked at priority low. Refused by a limit, the frame waits a little for memory
  // to be released (reading nothing more from this connection meanwhile: TCP pushes back on the
  // sender); still refused, the window stays small and this stream is reset -- its peer, not the
  // node, pays for sending more than the node can take.
  const std::int64_t need = std::int64_t(sizeof(stream_state)) + st.held + std::int64_t(len);
  if (need <= st.window.size()) return read_data(len);
  auto r = st.window.grow(need - st.window.size(), rcmgr::priority::low);
  if (r) return read_data(len);
  if (r.error().code != rcmgr::errc::limit_exceeded) return discard(len, id, r.error().message());
  if (!st.waiting) st.waiting = make_window_queue(st.scope);
  ++node_.counters().window_waits;
  st.waiting->async_reserve(need - st.window.size(), rcmgr::priority::low, window_wait,
                            [self = shared_from_this(), id, len, why = r.error().message()](std::error_code ec, memory_reservation more) {
                              if (self->closed_) return;
                              auto it = self->streams_.find(id);
                              if (ec || it == self->streams_.end()) {
                                ++self->node_.counters().windows_refused;
                                return self->discard(len, id, why);
                              }
                              ++self->node_.counters().windows_granted_after_wait;
                              it->second->window.merge(std::move(more));
                              self->read_data(len);
                            });
}

void connection::read_data(std::size_t len) {
  rx_.resize(len);
  rx_.shrink_to_fit();
  net::async_read(sock_, net::buffer(rx_), [self = shared_from_this(), len](const boost::system::error_code& ec, std::size_t) {
    if (ec) return self->close("read failed");
    self->on_data(len);
  });
}

void connection::on_data(std::size_t len) {
  auto it = streams_.find(h_.stream);
  if (it == streams_.end()) return read_header();
  stream_state& st = *it->second;
  if (st.protocol == node_proto::upload_protocol) {
    st.upload.push_back(std::move(rx_));  // exact size; already inside the window
    st.held += std::int64_t(len);
    rx_ = {};
    return read_header();
  }
  // echo: a request. rcmgr: the work of answering it is a span on the stream; the response's
  // bytes are reserved in it at priority medium and released when the response is written.
  auto span = st.scope.begin_span();
  if (!span) {
    ++node_.counters().responses_refused;
    reset_stream(h_.stream, span.error().message());
    return read_header();
  }
  auto charge = memory_reservation::reserve(*span, std::int64_t(len), rcmgr::priority::medium);
  if (!charge) {
    ++node_.counters().responses_refused;
    reset_stream(h_.stream, charge.error().message());
    return read_header();
  }
  std::vector<unsigned char> response(rx_.begin(), rx_.end());
  ++node_.counters().requests_served;
  send(frame_type::data, h_.stream, std::move(response), std::move(*charge),
       std::make_unique<manager_type::span<rcmgr::libp2p::stream_scope>>(std::move(*span)));
  // the request buffer goes back to the window: it is reused for the next request
  read_header();
}

void connection::on_close_frame() {
  auto it = streams_.find(h_.stream);
  if (it != streams_.end()) {
    if (it->second->protocol == node_proto::upload_protocol) {
      std::vector<unsigned char> total(8);
      const std::uint64_t n = std::uint64_t(it->second->held);
      node_proto::put_u32(total.data(), std::uint32_t(n >> 32));
      node_proto::put_u32(total.data() + 4, std::uint32_t(n));
      ++node_.counters().uploads_done;
      send(frame_type::data, h_.stream, std::move(total));
    }
    streams_.erase(it);  // rcmgr: the stream handle ends: its window and stream slot are released
    --node_.counters().live_streams;
  }
  read_header();
}

// Reads and drops `left` payload bytes through the fixed scratch buffer, so a refused frame costs
// the node nothing beyond what it already holds; then resets the stream if asked.
void connection::discard(std::size_t left, std::uint32_t reset_id, std::string why) {
  if (left == 0) {
    if (reset_id != 0) reset_stream(reset_id, why);
    return read_header();
  }
  const std::size_t n = std::min(left, scratch_.size());
  net::async_read(sock_, net::buffer(scratch_.data(), n),
                  [self = shared_from_this(), left, n, reset_id, why = std::move(why)](const boost::system::error_code& ec, std::size_t) mutable {
                    if (ec) return self->close("read failed");
                    self->discard(left - n, reset_id, std::move(why));
                  });
}

void connection::reset_stream(std::uint32_t id, std::string_view why) {
  if (auto it = streams_.find(id); it != streams_.end()) {
    streams_.erase(it);
    --node_.counters().live_streams;
  }
  send(frame_type::reset, id, {why.begin(), why.end()});
}

void connection::send(frame_type t, std::uint32_t stream, std::vector<unsigned char> payload, memory_reservation charge,
                      std::unique_ptr<manager_type::span<rcmgr::libp2p::stream_scope>> span) {
  if (closed_) return;
  // rcmgr: a frame waiting to be written is memory: charge it to the connection (a response is
  // already charged to its span). A peer that does not read fills this up and is closed.
  if (!charge.bound()) {
    charge = memory_reservation(scope_);
    if (auto r = charge.grow(std::int64_t(node_proto::header_size + payload.size()), rcmgr::priority::high); !r) {
      ++node_.counters().slow_readers_closed;
      return close("peer does not read");
    }
  }
  outgoing o;
  o.head = node_proto::encode(header{std::uint32_t(payload.size()), t, stream});
  o.payload = std::move(payload);
  o.charge = std::move(charge);
  o.span = std::move(span);
  out_.push_back(std::move(o));
  if (!writing_) write_next();
}

void connection::write_next() {
  if (out_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  const outgoing& o = out_.front();
  std::array<net::const_buffer, 2> bufs{net::buffer(o.head), net::buffer(o.payload)};
  net::async_write(sock_, bufs, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    if (ec) return self->close("write failed");
    self->out_.pop_front();  // rcmgr: the frame's reservation (and a response's span) end here
    self->write_next();
  });
}

template <class Stat>
void print_stat(std::ostream& os, const char* name, const Stat& s) {
  os << '"' << name << "\":{\"memory\":" << s.memory << ",\"streams_in\":" << s.streams_inbound << ",\"streams_out\":"
     << s.streams_outbound << ",\"conns_in\":" << s.conns_inbound << ",\"conns_out\":" << s.conns_outbound << ",\"fd\":" << s.fd << '}';
}

void node::report() {
  auto& c = counters_;
  std::int64_t most = 0;
  for (const auto& [peer, n] : c.max_streams_by_peer) most = std::max(most, n);
  std::ostringstream os;
  os << "{\"report\":\"asio_node\",\"protected\":" << (protected_node ? "true" : "false") << ",\"memory_limit\":"
     << (opts_.memory_mib << 20) << ",\"accepted\":" << c.accepted << ",\"conns_refused\":" << c.conns_refused
     << ",\"hello_timeouts\":" << c.hello_timeouts << ",\"peers_refused\":" << c.peers_refused << ",\"streams_opened\":"
     << c.streams_opened << ",\"streams_refused\":" << c.streams_refused << ",\"windows_refused\":" << c.windows_refused
     << ",\"responses_refused\":" << c.responses_refused << ",\"window_waits\":" << c.window_waits
     << ",\"windows_granted_after_wait\":" << c.windows_granted_after_wait << ",\"requests_served\":" << c.requests_served
     << ",\"uploads_done\":" << c.uploads_done << ",\"slow_readers_closed\":" << c.slow_readers_closed
     << ",\"protocol_errors\":" << c.protocol_errors << ",\"live_connections\":" << c.live_connections
     << ",\"live_streams\":" << c.live_streams << ",\"max_streams_one_peer\":" << most;
#if !defined(RCMGR_NODE_UNPROTECTED)
  {
    os << ",\"live_peers\":" << mgr_.live_count<rcmgr::libp2p::peer_scope>() << ',';
    print_stat(os, "system", mgr_.stat<rcmgr::libp2p::system_scope>());
    os << ',';
    print_stat(os, "transient", mgr_.stat<rcmgr::libp2p::transient_scope>());
    os << ",\"over_releases\":" << mgr_.misuse().over_releases
       << ",\"memory_refusals\":" << mgr_.observer().counts.refusals(rcmgr::resource::memory)
       << ",\"stream_refusals\":" << mgr_.observer().counts.refusals(rcmgr::resource::streams)
       << ",\"conn_refusals\":" << mgr_.observer().counts.refusals(rcmgr::resource::conns);
  }
#endif
  os << "}\n";
  std::cout << os.str() << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (a == "--port") o.port = static_cast<unsigned short>(v);
    else if (a == "--memory-mib") o.memory_mib = v;
    else if (a == "--hello-timeout-ms") o.hello_timeout_ms = v;
    else if (a == "--max-seconds") o.max_seconds = v;
    else return std::cerr << "unknown option " << a << '\n', 2;
  }
  try {
    net::io_context io(1);
    node n(io, o);
    n.start();
    std::cout << "listening 127.0.0.1:" << n.port() << (protected_node ? " (rcmgr)" : " (unprotected)") << std::endl;
    io.run();
  } catch (const std::bad_alloc&) {
    // Only the unprotected build gets here: nothing bounded what it kept.
    std::cout << "{\"report\":\"asio_node\",\"protected\":" << (protected_node ? "true" : "false")
              << ",\"crashed\":\"out of memory (std::bad_alloc)\"}" << std::endl;
    return 3;
  }
  return 0;
}
