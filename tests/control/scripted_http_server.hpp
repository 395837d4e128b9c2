#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// A real HTTP/1.1 server on 127.0.0.1 (Beast) that plays the storkd admin API as a test
// scripts it: it answers the queued responses in order and records every request. It
// binds port 0 before the constructor returns and stops and joins its thread in the
// destructor (style.md "Tests").
namespace stork::test {

struct recorded_request {
    std::string method{};
    std::string target{};
    std::string authorization{};
    std::string content_type{};
    std::string host{};
    std::string body{};
};

struct scripted_response {
    unsigned status = 200;
    std::string body{};
    std::string content_type = "application/json";
    // Read the request, then never answer (until the server stops): a hung storkd.
    bool silent = false;
};

class scripted_http_server {
public:
    scripted_http_server();
    ~scripted_http_server();
    scripted_http_server(const scripted_http_server&) = delete;
    scripted_http_server& operator=(const scripted_http_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string url() const;  // "http://127.0.0.1:PORT"

    // Queues the answer to the next request; with nothing queued it answers 500.
    void answer(scripted_response response);
    void answer(unsigned status, std::string body = {});

    std::vector<recorded_request> requests() const;

    // Called by the server's own thread.
    scripted_response next_response_for(recorded_request request);

private:
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::deque<scripted_response> script_;        // guarded by mutex_
    std::vector<recorded_request> requests_;      // guarded by mutex_
    std::thread thread_;
};

} // namespace stork::test
