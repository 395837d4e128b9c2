#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace stork::proxy {

// A worker's spare buffer blocks of one size. Connections take a block when bytes
// arrive and give it back when they go idle, so an idle keep-alive connection holds no
// buffer and a busy one does not call malloc per request. Single-threaded (one per worker).
class block_pool {
public:
    block_pool(std::size_t block_size, std::size_t max_spare) noexcept : size_{block_size}, max_spare_{max_spare} {}
    std::size_t block_size() const noexcept { return size_; }

    std::unique_ptr<char[]> take()
    {
        if (spare_.empty()) {
            return std::unique_ptr<char[]>{new char[size_]};
        }
        auto b = std::move(spare_.back());
        spare_.pop_back();
        return b;
    }
    void give(std::unique_ptr<char[]> b)
    {
        if (spare_.size() < max_spare_) {
            spare_.push_back(std::move(b));
        }
    }
    std::size_t spare() const noexcept { return spare_.size(); }

private:
    std::size_t size_;
    std::size_t max_spare_;
    std::vector<std::unique_ptr<char[]>> spare_;
};

// The bytes read from one socket and not consumed yet: [begin, end) of one heap block.
// It starts with a block of the pool's size, grows on demand up to a cap (a 64 KiB request
// head must fit), moves unconsumed bytes to the front instead of growing when it can, and
// gives its block back when the connection goes idle.
class byte_buffer {
public:
    byte_buffer(block_pool& pool, std::size_t cap) noexcept : pool_{&pool}, cap_{cap} {}
    ~byte_buffer() { release(); }
    byte_buffer(const byte_buffer&) = delete;
    byte_buffer& operator=(const byte_buffer&) = delete;

    std::string_view data() const noexcept { return {block_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }

    void consume(std::size_t n) noexcept
    {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }

    // Room for at least one byte at the end (growing or compacting as needed), as large
    // as the block allows. Empty only when the buffer holds `cap` bytes.
    boost::asio::mutable_buffer prepare()
    {
        if (!block_) {
            block_ = pool_->take();
            capacity_ = pool_->block_size();
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

    // Gives the block back when nothing is buffered (idle keep-alive connections).
    void release_if_empty() noexcept
    {
        if (empty()) {
            release();
        }
    }

    std::size_t capacity() const noexcept { return capacity_; }
    // Whether a block is held (an idle connection gives it back).
    bool has_block() const noexcept { return static_cast<bool>(block_); }

private:
    void release() noexcept
    {
        if (!block_) {
            return;
        }
        if (capacity_ == pool_->block_size()) {
            pool_->give(std::move(block_));
        }
        block_.reset();
        capacity_ = 0;
        begin_ = end_ = 0;
    }

    void grow()
    {
        const std::size_t next = capacity_ * 2 < cap_ ? capacity_ * 2 : cap_;
        std::unique_ptr<char[]> bigger{new char[next]};
        std::memcpy(bigger.get(), block_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        if (capacity_ == pool_->block_size()) {
            pool_->give(std::move(block_));
        }
        block_ = std::move(bigger);
        capacity_ = next;
    }

    block_pool* pool_;
    std::unique_ptr<char[]> block_;
    std::size_t cap_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace stork::proxy
