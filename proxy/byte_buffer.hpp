#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace stork::proxy {

// The bytes read from one socket and not consumed yet: [begin, end) of one heap block.
// It starts small, grows on demand up to a cap (a 64 KiB request head must fit), moves
// unconsumed bytes to the front instead of growing when it can, and gives its memory
// back when a connection goes idle, so ten thousand idle keep-alive connections do not
// hold ten thousand buffers.
class byte_buffer {
public:
    explicit byte_buffer(std::size_t initial, std::size_t cap) noexcept : initial_{initial}, cap_{cap} {}

    std::string_view data() const noexcept { return {block_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    bool full() const noexcept { return begin_ == 0 && end_ == cap_; }

    void consume(std::size_t n) noexcept
    {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }

    // Room for at least one byte at the end (growing or compacting as needed), as large
    // as the block allows. Empty only when full().
    boost::asio::mutable_buffer prepare()
    {
        if (!block_) {
            block_.reset(new char[initial_]);
            capacity_ = initial_;
        }
        if (end_ == capacity_) {
            if (begin_ > 0) {
                std::memmove(block_.get(), block_.get() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            } else if (capacity_ < cap_) {
                grow();
            }
        }
        return {block_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) noexcept { end_ += n; }

    // Frees the block when nothing is buffered (idle keep-alive connections).
    void release_if_empty() noexcept
    {
        if (empty() && block_) {
            block_.reset();
            capacity_ = 0;
        }
    }

    std::size_t capacity() const noexcept { return capacity_; }

private:
    void grow()
    {
        const std::size_t next = capacity_ * 2 < cap_ ? capacity_ * 2 : cap_;
        std::unique_ptr<char[]> bigger{new char[next]};
        std::memcpy(bigger.get(), block_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        block_ = std::move(bigger);
        capacity_ = next;
    }

    std::unique_ptr<char[]> block_;
    std::size_t initial_;
    std::size_t cap_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace stork::proxy
