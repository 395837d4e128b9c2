#include "dnscheck/message.hpp"

#include "tests/dnscheck/dns_builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace dns = stork::dnscheck;
namespace rr = stork::dnscheck::rr;
using stork::dnscheck::test::dns_builder;
using stork::dnscheck::test::rdata;
using stork::dnscheck::test::truncated;
using bytes = std::vector<unsigned char>;
using ::testing::HasSubstr;

dns::message parse_ok(const bytes& wire)
{
    auto m = dns::parse_message(wire);
    EXPECT_TRUE(m) << (m ? "" : m.error().what);
    return m ? *m : dns::message{};
}

std::string parse_error(const bytes& wire)
{
    auto m = dns::parse_message(wire);
    EXPECT_FALSE(m) << "parsed, but should not have";
    return m ? std::string{} : m.error().what;
}

// A header by hand: id 0x1234, QR|AA, NOERROR, and the four counts.
bytes header(std::uint16_t qd, std::uint16_t an, std::uint16_t ns = 0, std::uint16_t ar = 0)
{
    return {0x12, 0x34, 0x84, 0x00, static_cast<unsigned char>(qd >> 8), static_cast<unsigned char>(qd),
            static_cast<unsigned char>(an >> 8), static_cast<unsigned char>(an), static_cast<unsigned char>(ns >> 8),
            static_cast<unsigned char>(ns), static_cast<unsigned char>(ar >> 8), static_cast<unsigned char>(ar)};
}

bytes operator+(bytes a, const bytes& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// ---- header and question -------------------------------------------------------------

TEST(message, reads_the_header_flags_and_the_question)
{
    const auto m = parse_ok(dns_builder{}.id(0xbeef).qr().aa().tc().rd().ra().rcode(dns::rcode::refused)
                                .question("Example.COM", rr::caa)
                                .build());
    EXPECT_EQ(m.id, 0xbeef);
    EXPECT_TRUE(m.qr && m.aa && m.tc && m.rd && m.ra);
    EXPECT_EQ(m.rcode, dns::rcode::refused);
    ASSERT_EQ(m.questions.size(), 1u);
    EXPECT_EQ(m.questions[0], (dns::question{"Example.COM", rr::caa, 1})) << "case kept";
    EXPECT_TRUE(m.answers.empty() && m.authority.empty() && m.additional.empty());

    const auto plain = parse_ok(dns_builder{}.id(1).question("example.com", rr::a).build());
    EXPECT_FALSE(plain.qr || plain.aa || plain.tc || plain.rd || plain.ra);
}

TEST(message, a_header_alone_is_a_message)
{
    const auto m = parse_ok(header(0, 0));
    EXPECT_EQ(m.id, 0x1234);
    EXPECT_TRUE(m.questions.empty());
}

// ---- every record type, with and without compression --------------------------------

struct record_case {
    const char* label;
    rdata data;
    dns::record_data expected;
    std::string text;
};

std::vector<record_case> record_cases()
{
    using boost::asio::ip::make_address;
    return {
        {"A", rdata::a("192.0.2.1"), make_address("192.0.2.1"), "192.0.2.1"},
        {"AAAA", rdata::aaaa("2001:db8::53"), make_address("2001:db8::53"), "2001:db8::53"},
        {"CNAME", rdata::cname("app.Example.net"), std::string{"app.Example.net"}, "app.Example.net"},
        {"CNAME to the owner's parent", rdata::cname("example.com"), std::string{"example.com"}, "example.com"},
        {"CNAME to the root", rdata::cname("."), std::string{""}, "."},
        {"NS", rdata::ns("ns1.example.com"), std::string{"ns1.example.com"}, "ns1.example.com"},
        {"SOA", rdata::soa("ns1.example.com", "hostmaster.example.com", 2024010101, 3600, 600, 604800, 60),
         dns::soa_data{"ns1.example.com", "hostmaster.example.com", 2024010101, 3600, 600, 604800, 60},
         "ns1.example.com hostmaster.example.com 2024010101 3600 600 604800 60"},
        {"SOA with the largest numbers", rdata::soa(".", ".", 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
         dns::soa_data{"", "", 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         ". . 4294967295 4294967295 4294967295 4294967295 4294967295"},
        {"CAA issue", rdata::caa(0, "issue", "letsencrypt.org"), dns::caa_data{0, "issue", "letsencrypt.org"},
         "0 issue \"letsencrypt.org\""},
        {"CAA critical", rdata::caa(128, "tbs", "Unknown"), dns::caa_data{128, "tbs", "Unknown"},
         "128 tbs \"Unknown\""},
        // RFC 8659 §4.2: an empty issuer forbids issuance. c-ares 1.18 refuses this record.
        {"CAA with an empty value", rdata::caa(0, "issue", ""), dns::caa_data{0, "issue", ""}, "0 issue \"\""},
        {"CAA semicolon", rdata::caa(0, "issuewild", ";"), dns::caa_data{0, "issuewild", ";"},
         "0 issuewild \";\""},
        {"CAA tag of 15 characters", rdata::caa(0, "abcdefghijklmn5", "v"), dns::caa_data{0, "abcdefghijklmn5", "v"},
         "0 abcdefghijklmn5 \"v\""},
        {"CAA value to escape", rdata::caa(0, "iodef", std::string{"a\"b\\c\x07\xff"}),
         dns::caa_data{0, "iodef", std::string{"a\"b\\c\x07\xff"}}, "0 iodef \"a\\\"b\\\\c\\007\\255\""},
        {"TXT of several strings", rdata::txt({"part one ", "part two"}),
         std::vector<std::string>{"part one ", "part two"}, "\"part one \" \"part two\""},
        {"TXT of one empty string", rdata::txt({""}), std::vector<std::string>{""}, "\"\""},
        {"TXT of a full string", rdata::txt({std::string(255, 'x')}), std::vector<std::string>{std::string(255, 'x')},
         "\"" + std::string(255, 'x') + "\""},
        {"unknown type (RFC 3597)", rdata::raw(65, {0x00, 0x01, 0xab}), std::vector<std::uint8_t>{0x00, 0x01, 0xab},
         "\\# 3 0001ab"},
        {"unknown type, empty", rdata::raw(99, {}), std::vector<std::uint8_t>{}, "\\# 0"},
    };
}

TEST(message, reads_every_record_type_compressed_or_not)
{
    for (const bool compress : {false, true}) {
        for (const auto& c : record_cases()) {
            SCOPED_TRACE(std::string{c.label} + (compress ? ", compressed" : ", uncompressed"));
            const auto wire = dns_builder{}.id(9).qr().aa()
                                  .question("www.example.com", c.data.type())
                                  .answer("www.example.com", 300, c.data)
                                  .compress(compress)
                                  .build();
            const auto m = parse_ok(wire);
            ASSERT_EQ(m.answers.size(), 1u);
            const auto& r = m.answers[0];
            EXPECT_EQ(r.name, "www.example.com");
            EXPECT_EQ(r.type, c.data.type());
            EXPECT_EQ(r.klass, 1);
            EXPECT_EQ(r.ttl, 300u);
            EXPECT_EQ(r.data, c.expected);
            EXPECT_EQ(r.data_text(), c.text);
        }
    }
}

TEST(message, compression_is_really_used_and_reads_the_same)
{
    const auto build = [](bool compress) {
        return dns_builder{}.id(3).qr().aa()
            .question("www.example.com", rr::soa)
            .answer("www.example.com", 60, rdata::cname("web.example.com"))
            .answer("web.example.com", 60, rdata::ns("ns1.web.example.com"))
            .authority("example.com", 3600,
                       rdata::soa("ns1.example.com", "hostmaster.example.com", 1, 2, 3, 4, 5))
            .compress(compress)
            .build();
    };
    const auto plain = build(false);
    const auto packed = build(true);
    EXPECT_LT(packed.size() + 40, plain.size()) << "the builder wrote pointers";
    const auto a = parse_ok(plain);
    const auto b = parse_ok(packed);
    EXPECT_EQ(a.answers, b.answers);
    EXPECT_EQ(a.authority, b.authority);
    ASSERT_EQ(b.authority.size(), 1u);
    EXPECT_EQ(b.authority[0].data_text(), "ns1.example.com hostmaster.example.com 1 2 3 4 5");
    EXPECT_EQ(b.answers[1].data_text(), "ns1.web.example.com");
}

TEST(message, a_pointer_to_a_pointer_and_a_pointer_to_the_root_are_read)
{
    // Question 1 "example.com" at 12 (its root byte at 24); question 2 at 29 is a pointer
    // to it; the answer's owner points at question 2's pointer, its CNAME target at the
    // root byte.
    const bytes question1 = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 5, 0, 1};   // 12..28
    const bytes question2 = {0xc0, 12, 0, 5, 0, 1};                                                     // 29..34
    const bytes answer = {0xc0, 29, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 24};                         // 35..
    const auto wire = header(2, 1) + question1 + question2 + answer;
    const auto m = parse_ok(wire);
    ASSERT_EQ(m.questions.size(), 2u);
    EXPECT_EQ(m.questions[1].name, "example.com");
    ASSERT_EQ(m.answers.size(), 1u);
    EXPECT_EQ(m.answers[0].name, "example.com") << "two jumps";
    EXPECT_EQ(m.answers[0].data, dns::record_data{std::string{""}}) << "the root, via a pointer";
}

TEST(message, odd_bytes_in_names_come_back_escaped_by_c_ares)
{
    // One label "a.b" and one label with a 0x07 byte: ares_expand_name escapes both.
    const bytes owner = {3, 'a', '.', 'b', 2, 'x', 0x07, 0};
    const auto wire = header(0, 1) + owner + bytes{0, 99, 0, 1, 0, 0, 0, 1, 0, 0};
    const auto m = parse_ok(wire);
    ASSERT_EQ(m.answers.size(), 1u);
    EXPECT_EQ(m.answers[0].name, "a\\.b.x\\007");
}

TEST(message, keeps_the_class)
{
    const auto m = parse_ok(dns_builder{}.answer("version.bind", 0, rdata::txt({"knot"}), 3).build());
    ASSERT_EQ(m.answers.size(), 1u);
    EXPECT_EQ(m.answers[0].klass, 3) << "CH";
}

// ---- what the advisor reads ----------------------------------------------------------

TEST(message, nxdomain_with_the_authority_soa_gives_the_negative_ttl)
{
    struct {
        std::uint32_t soa_ttl;
        std::uint32_t minimum;
        std::uint32_t expected;
    } const cases[] = {{3600, 300, 300}, {60, 86400, 60}, {120, 120, 120}, {0, 300, 0}};
    for (const auto& c : cases) {
        SCOPED_TRACE(std::to_string(c.soa_ttl) + "/" + std::to_string(c.minimum));
        const auto m = parse_ok(dns_builder{}.id(5).qr().aa().rcode(dns::rcode::nxdomain)
                                    .question("missing.example.com", rr::a)
                                    .authority("example.com", c.soa_ttl,
                                               rdata::soa("ns1.example.com", "hostmaster.example.com", 7, 3600, 600,
                                                          604800, c.minimum))
                                    .compress()
                                    .build());
        EXPECT_EQ(m.rcode, dns::rcode::nxdomain);
        EXPECT_TRUE(m.answers.empty());
        EXPECT_EQ(dns::negative_ttl(m), c.expected);
    }
}

TEST(message, negative_ttl_needs_an_soa_in_the_authority_section)
{
    const auto referral = parse_ok(dns_builder{}.question("www.example.com", rr::a)
                                       .authority("example.com", 3600, rdata::ns("ns1.example.com"))
                                       .build());
    EXPECT_EQ(dns::negative_ttl(referral), std::nullopt);

    // An SOA in the answer (an apex SOA query) is not a negative answer.
    const auto apex = parse_ok(dns_builder{}
                                   .answer("example.com", 3600, rdata::soa("ns1.example.com", "h.example.com", 1, 2, 3, 4, 5))
                                   .build());
    EXPECT_EQ(dns::negative_ttl(apex), std::nullopt);

    // The first SOA counts.
    const auto two = parse_ok(dns_builder{}
                                  .authority("example.com", 3600, rdata::ns("ns1.example.com"))
                                  .authority("example.com", 100, rdata::soa("a", "b", 1, 2, 3, 4, 50))
                                  .authority("example.com", 10, rdata::soa("a", "b", 1, 2, 3, 4, 5))
                                  .build());
    EXPECT_EQ(dns::negative_ttl(two), 50u);
}

TEST(message, a_cname_chain_keeps_every_ttl)
{
    const auto m = parse_ok(dns_builder{}.id(11).qr().aa()
                                .question("chain.example.com", rr::a)
                                .answer("chain.example.com", 120, rdata::cname("chain2.example.com"))
                                .answer("chain2.example.com", 30, rdata::cname("WWW.example.com"))
                                .answer("www.example.com", 600, rdata::a("192.0.2.7"))
                                .compress()
                                .build());
    ASSERT_EQ(m.answers.size(), 3u);
    std::string name = "chain.example.com";
    std::vector<std::uint32_t> ttls;
    for (;;) {
        const auto cnames = dns::records_of(m.answers, name, rr::cname);
        if (cnames.empty()) {
            break;
        }
        ttls.push_back(cnames[0]->ttl);
        name = std::get<std::string>(cnames[0]->data);
    }
    EXPECT_EQ(ttls, (std::vector<std::uint32_t>{120, 30}));
    const auto a = dns::records_of(m.answers, name, rr::a);
    ASSERT_EQ(a.size(), 1u) << "WWW.example.com matches www.example.com";
    EXPECT_EQ(a[0]->ttl, 600u);
    EXPECT_EQ(a[0]->data_text(), "192.0.2.7");
}

TEST(message, caa_beside_a_cname_is_kept)
{
    const auto m = parse_ok(dns_builder{}
                                .question("www.example.com", rr::caa)
                                .answer("www.example.com", 300, rdata::cname("app.example.net"))
                                .answer("app.example.net", 300, rdata::caa(0x80, "issue", ""))
                                .build());
    const auto caa = dns::records_of(m.answers, "app.example.net.", rr::caa);
    ASSERT_EQ(caa.size(), 1u);
    const auto& data = std::get<dns::caa_data>(caa[0]->data);
    EXPECT_TRUE(data.critical());
    EXPECT_TRUE(data.value.empty());
    EXPECT_EQ(caa[0]->data_text(), "128 issue \"\"");
}

TEST(message, opt_in_the_additional_section_is_a_raw_record)
{
    // Extended RCODE 0x80 puts the top bit of the TTL field: still kept, it is not a TTL.
    const auto m = parse_ok(dns_builder{}.question("example.com", rr::a).edns(1232, 0x80008000).build());
    ASSERT_EQ(m.additional.size(), 1u);
    const auto& opt = m.additional[0];
    EXPECT_EQ(opt.name, "");
    EXPECT_EQ(opt.type, rr::opt);
    EXPECT_EQ(opt.klass, 1232) << "the UDP payload size";
    EXPECT_EQ(opt.ttl, 0x80008000u) << "extended RCODE, version and DO as sent";
    EXPECT_EQ(opt.data_text(), "\\# 0");
}

TEST(message, a_ttl_with_the_top_bit_set_reads_as_zero)
{
    const auto m = parse_ok(dns_builder{}
                                .answer("a.example", 0x80000000u, rdata::a("192.0.2.1"))
                                .answer("b.example", 0xffffffffu, rdata::a("192.0.2.2"))
                                .answer("c.example", 0x7fffffffu, rdata::a("192.0.2.3"))
                                .build());
    ASSERT_EQ(m.answers.size(), 3u);
    EXPECT_EQ(m.answers[0].ttl, 0u);
    EXPECT_EQ(m.answers[1].ttl, 0u);
    EXPECT_EQ(m.answers[2].ttl, 0x7fffffffu);
}

TEST(message, records_land_in_their_sections)
{
    const auto m = parse_ok(dns_builder{}.id(2).qr().aa()
                                .question("example.com", rr::ns)
                                .answer("example.com", 3600, rdata::ns("ns1.example.com"))
                                .answer("example.com", 3600, rdata::ns("ns2.example.com"))
                                .authority("example.com", 3600, rdata::soa("ns1.example.com", "h.example.com", 1, 2, 3, 4, 5))
                                .additional("ns1.example.com", 3600, rdata::a("192.0.2.53"))
                                .additional("ns1.example.com", 3600, rdata::aaaa("2001:db8::53"))
                                .edns()
                                .compress()
                                .build());
    EXPECT_EQ(m.answers.size(), 2u);
    EXPECT_EQ(m.authority.size(), 1u);
    EXPECT_EQ(m.additional.size(), 3u);
    EXPECT_EQ(dns::records_of(m.additional, "NS1.example.com", rr::a).size(), 1u);
    EXPECT_EQ(dns::records_of(m.additional, "ns1.example.com", rr::aaaa).size(), 1u);
    EXPECT_EQ(dns::records_of(m.answers, "example.com", rr::a).size(), 0u);
}

TEST(message, trailing_bytes_after_the_last_record_are_accepted)
{
    const auto wire = dns_builder{}.question("example.com", rr::a).answer("example.com", 1, rdata::a("192.0.2.1")).build();
    const auto m = parse_ok(wire + bytes(100, 0));
    EXPECT_EQ(m.answers.size(), 1u);
}

// ---- names, types, rcodes -------------------------------------------------------------

TEST(message, type_and_rcode_names)
{
    EXPECT_EQ(dns::type_name(rr::a), "A");
    EXPECT_EQ(dns::type_name(rr::ns), "NS");
    EXPECT_EQ(dns::type_name(rr::cname), "CNAME");
    EXPECT_EQ(dns::type_name(rr::soa), "SOA");
    EXPECT_EQ(dns::type_name(rr::txt), "TXT");
    EXPECT_EQ(dns::type_name(rr::aaaa), "AAAA");
    EXPECT_EQ(dns::type_name(rr::opt), "OPT");
    EXPECT_EQ(dns::type_name(rr::caa), "CAA");
    EXPECT_EQ(dns::type_name(65), "TYPE65");
    EXPECT_EQ(dns::type_name(0), "TYPE0");
    EXPECT_EQ(dns::type_name(65535), "TYPE65535");

    EXPECT_EQ(dns::rcode_name(dns::rcode::noerror), "NOERROR");
    EXPECT_EQ(dns::rcode_name(dns::rcode::formerr), "FORMERR");
    EXPECT_EQ(dns::rcode_name(dns::rcode::servfail), "SERVFAIL");
    EXPECT_EQ(dns::rcode_name(dns::rcode::nxdomain), "NXDOMAIN");
    EXPECT_EQ(dns::rcode_name(dns::rcode::notimp), "NOTIMP");
    EXPECT_EQ(dns::rcode_name(dns::rcode::refused), "REFUSED");
    EXPECT_EQ(dns::rcode_name(11), "RCODE11");
    EXPECT_EQ(dns::rcode_name(15), "RCODE15");
}

TEST(message, same_name_ignores_case_and_one_trailing_dot)
{
    struct {
        const char* a;
        const char* b;
        bool same;
    } const cases[] = {
        {"example.com", "example.com", true},
        {"Example.COM", "example.com", true},
        {"example.com.", "example.com", true},
        {"example.com.", "EXAMPLE.com.", true},
        {"", ".", true},
        {"", "", true},
        {"example.com", "example.org", false},
        {"www.example.com", "example.com", false},
        {"example.com..", "example.com", false},
        {"a\\.", "a", false},     // an escaped dot is part of the label
        {"a\\\\.", "a\\\\", true}, // an escaped backslash, then the trailing dot
        {"\xc4", "\xe4", false},   // only ASCII folds (RFC 4343 §3)
    };
    for (const auto& c : cases) {
        EXPECT_EQ(dns::same_name(c.a, c.b), c.same) << c.a << " vs " << c.b;
        EXPECT_EQ(dns::same_name(c.b, c.a), c.same) << c.b << " vs " << c.a;
    }
}

TEST(message, value_throws_the_error_text)
{
    const auto result = dns::parse_message(bytes{1, 2, 3});
    try {
        (void)result.value();
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("header: the message is 3 bytes, shorter than the 12-byte header"));
    }
}

// ---- malformed messages ---------------------------------------------------------------

struct malformed_case {
    const char* label;
    bytes wire;
    std::string error;   // expected substring of the error text
};

bytes name_bytes(std::initializer_list<std::string_view> labels)
{
    bytes out;
    for (const auto l : labels) {
        out.push_back(static_cast<unsigned char>(l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.push_back(0);
    return out;
}

// type, class IN, TTL 60, RDLENGTH
bytes rr_fixed(std::uint16_t type, std::uint16_t rdlength)
{
    return {static_cast<unsigned char>(type >> 8), static_cast<unsigned char>(type), 0, 1, 0, 0, 0, 60,
            static_cast<unsigned char>(rdlength >> 8), static_cast<unsigned char>(rdlength)};
}

std::vector<malformed_case> malformed_cases()
{
    const bytes example = name_bytes({"example", "com"});   // 13 bytes
    const bytes q = example + bytes{0, 1, 0, 1};              // question at 12, 17 bytes
    const auto one_answer = [&](std::uint16_t type, const bytes& rdata) {
        return header(1, 1) + q + bytes{0xc0, 12} + rr_fixed(type, static_cast<std::uint16_t>(rdata.size())) + rdata;
    };
    const auto soa_numbers = bytes(20, 0);
    const auto patched = [](bytes w, std::size_t at, unsigned char value) {
        w.at(at) = value;
        return w;
    };

    std::vector<malformed_case> cases = {
        {"empty", {}, "header: the message is 0 bytes, shorter than the 12-byte header"},
        {"11 bytes", bytes(11, 0), "header: the message is 11 bytes, shorter than the 12-byte header"},
        {"over 65535 bytes", header(0, 0) + bytes(65530, 0), "longer than 65535"},
        {"two questions counted, one present", header(2, 0) + q,
         "question 2: missing: the message (29 bytes) ends after 1 of 2 questions"},
        {"answers counted, none present", header(1, 3) + q,
         "answer record 1: missing: the message (29 bytes) ends after 0 of 3 answer records"},
        {"authority counted, none present", patched(one_answer(rr::a, {192, 0, 2, 1}), 9, 1),
         "authority record 1: missing: the message (45 bytes) ends after 0 of 1 authority records"},
        {"QTYPE cut", header(1, 0) + example + bytes{0, 1, 0}, "question 1: QTYPE and QCLASS run past the end"},
        {"record header cut", header(1, 1) + q + bytes{0xc0, 12, 0, 1, 0, 1, 0},
         "answer record 1: TYPE, CLASS, TTL and RDLENGTH run past the end of the message (36 bytes)"},
        {"RDATA length past the end", header(1, 1) + q + bytes{0xc0, 12} + rr_fixed(rr::a, 9) + bytes{1, 2, 3, 4},
         "answer record 1: RDATA length 9 runs past the end of the message (45 bytes)"},
        {"A of 5 bytes", one_answer(rr::a, {192, 0, 2, 1, 0}), "answer record 1: A RDATA is 5 bytes, not 4"},
        {"A of 0 bytes", one_answer(rr::a, {}), "A RDATA is 0 bytes, not 4"},
        {"AAAA of 4 bytes", one_answer(rr::aaaa, {192, 0, 2, 1}), "answer record 1: AAAA RDATA is 4 bytes, not 16"},
        {"CAA tag length 0", one_answer(rr::caa, {0, 0, 'x'}), "CAA tag length 0 is not 1-15"},
        {"CAA tag length 16", one_answer(rr::caa, bytes{0, 16} + bytes(16, 'a')), "CAA tag length 16 is not 1-15"},
        {"CAA tag longer than RDATA", one_answer(rr::caa, {0, 5, 'i', 's', 's'}),
         "CAA tag length 5 runs past RDLENGTH 5"},
        {"CAA tag not alphanumeric", one_answer(rr::caa, {0, 5, 'i', 's', '-', 'u', 'e', 'x'}),
         "CAA tag contains a byte that is not a letter or digit"},
        {"CAA tag with a NUL", one_answer(rr::caa, {0, 2, 'i', 0}), "not a letter or digit"},
        {"CAA of 1 byte", one_answer(rr::caa, {0}), "CAA RDATA is 1 bytes, shorter than flags and tag length"},
        {"TXT string past RDATA", one_answer(rr::txt, {3, 'a', 'b', 'c', 4, 'a', 'b'}),
         "answer record 1: TXT character-string 2 of 4 bytes runs past RDLENGTH 7"},
        {"SOA with an extra byte", one_answer(rr::soa, bytes{0, 0} + soa_numbers + bytes{0}),
         "SOA has 21 bytes after its names, not 20"},
        {"SOA cut", one_answer(rr::soa, bytes{0, 0} + bytes(19, 0)), "SOA has 19 bytes after its names, not 20"},
        {"SOA without RNAME", one_answer(rr::soa, bytes{0}), "answer record 1: SOA RNAME runs past"},
        {"CNAME shorter than RDLENGTH", one_answer(rr::cname, bytes{0xc0, 12, 0}),
         "answer record 1: CNAME target ends after 2 bytes of RDATA, RDLENGTH is 3"},
        {"CNAME longer than RDLENGTH",
         header(1, 1) + q + bytes{0xc0, 12} + rr_fixed(rr::cname, 4) + name_bytes({"abc", "d"}),
         "CNAME target runs past RDLENGTH (7 bytes from where it starts, 4 left)"},
        {"NS shorter than RDLENGTH", one_answer(rr::ns, name_bytes({"ns"}) + bytes{0xff}),
         "NS name ends after 4 bytes of RDATA, RDLENGTH is 5"},
        {"pointer to itself", header(1, 0) + bytes{0xc0, 12, 0, 1, 0, 1},
         "question 1: name: compression pointers loop at offset 12"},
        {"two pointers in a loop", header(2, 0) + bytes{0xc0, 18, 0, 1, 0, 1} + bytes{0xc0, 12, 0, 1, 0, 1},
         "question 1: name: compression pointers loop at offset 18"},
        {"a loop through a label", header(1, 0) + bytes{1, 'a', 0xc0, 12, 0, 1, 0, 1},
         "compression pointers loop at offset 12"},
        {"pointer past the end", header(1, 0) + bytes{0xc0, 0xff, 0, 1, 0, 1},
         "question 1: name: compression pointer to offset 255 is past the end of the message (18 bytes)"},
        // The answer's owner pointer (at 29) now says offset 0x10c.
        {"pointer past the end in an owner", patched(one_answer(rr::a, {1, 2, 3, 4}), 29, 0xc1),
         "answer record 1: owner name: compression pointer to offset 268 is past the end of the message (45 bytes)"},
        {"pointer cut", header(1, 0) + bytes{3, 'w', 'w', 'w', 0xc0},
         "question 1: name: compression pointer runs past the end of the message (17 bytes)"},
        {"label past the end", header(1, 0) + bytes{5, 'a', 'b'}, "a label of 5 bytes runs past the end"},
        {"name without its end", header(1, 0) + bytes{1, 'a'}, "question 1: name"},
        // Found by the fuzzer: c-ares writes this label as a raw NUL, which ended the name.
        {"a label of one zero byte", header(1, 0) + bytes{1, 'a', 1, 0, 0, 0, 1, 0, 1},
         "question 1: name: a label of one zero byte at offset 14 (c-ares would expand it to a raw NUL)"},
        {"label type 01", header(1, 0) + bytes{0x41, 0, 0, 1, 0, 1}, "label type 0x40 at offset 12 is not supported"},
        {"label type 10", header(1, 0) + bytes{0x81, 0, 0, 1, 0, 1}, "label type 0x80 at offset 12 is not supported"},
        {"a name over 255 bytes", header(1, 0) + [] {
             bytes n;
             for (int i = 0; i < 5; ++i) {
                 n.push_back(63);
                 n.insert(n.end(), 63, 'a');
             }
             n.push_back(0);
             return n + bytes{0, 1, 0, 1};
         }(),
         "question 1: name is longer than 255 bytes"},
        {"pointer past the end in a CNAME", one_answer(rr::cname, {0xc0, 0xf0}),
         "CNAME target: compression pointer to offset 240 is past the end"},
        {"additional counted, not present",
         header(1, 0, 0, 2) + q, "additional record 1: missing: the message (29 bytes) ends after 0 of 2 additional records"},
    };
    return cases;
}

TEST(message, malformed_messages_are_errors_that_say_where)
{
    const auto cases = malformed_cases();
    EXPECT_GE(cases.size(), 15u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label);
        EXPECT_THAT(parse_error(c.wire), HasSubstr(c.error));
    }
}

TEST(message, every_prefix_of_a_valid_message_is_an_error)
{
    for (const bool compress : {false, true}) {
        const auto wire = dns_builder{}.id(77).qr().aa().rd()
                              .question("www.example.com", rr::caa)
                              .answer("www.example.com", 60, rdata::cname("app.example.net"))
                              .answer("app.example.net", 60, rdata::caa(0, "issue", "letsencrypt.org"))
                              .answer("app.example.net", 60, rdata::txt({"a", "bc"}))
                              .answer("app.example.net", 60, rdata::a("192.0.2.1"))
                              .answer("app.example.net", 60, rdata::aaaa("2001:db8::1"))
                              .authority("example.net", 60, rdata::soa("ns.example.net", "h.example.net", 1, 2, 3, 4, 5))
                              .authority("example.net", 60, rdata::ns("ns.example.net"))
                              .additional("ns.example.net", 60, rdata::raw(99, {1, 2, 3}))
                              .edns()
                              .compress(compress)
                              .build();
        ASSERT_TRUE(dns::parse_message(wire));
        for (std::size_t n = 0; n < wire.size(); ++n) {
            const auto m = dns::parse_message(truncated(wire, n));
            EXPECT_FALSE(m) << "prefix of " << n << " of " << wire.size() << " bytes parsed";
            if (!m) {
                EXPECT_FALSE(m.error().what.empty());
            }
        }
    }
}

TEST(message, pointer_chains_are_bounded)
{
    // The question's name jumps to offset 18, where `jumps` pointers follow each other
    // two bytes apart, the last pointing at a root byte.
    const auto chain = [](std::size_t jumps) {
        bytes w = header(1, 0) + bytes{0xc0, 18, 0, 1, 0, 1};
        for (std::size_t i = 1; i < jumps; ++i) {
            const std::size_t next = w.size() + 2;
            w.push_back(static_cast<unsigned char>(0xc0 | next >> 8));
            w.push_back(static_cast<unsigned char>(next & 0xff));
        }
        w.push_back(0);
        return w;
    };
    // c-ares 1.18.1 follows at most 50 (MAX_INDIRS); the parser says so itself.
    EXPECT_EQ(parse_ok(chain(50)).questions.at(0).name, "");
    EXPECT_THAT(parse_error(chain(51)), HasSubstr("question 1: name: more than 50 compression pointers"));
}

TEST(message, many_pointers_to_one_long_name_parse_in_linear_time)
{
    // 5000 records whose owners are two-byte pointers to one 250-byte name: every
    // expansion is bounded by the 255-octet limit, so this is fast (it was the
    // quadratic case a parser without that limit would hit).
    dns_builder b;
    std::string long_name;
    for (int i = 0; i < 4; ++i) {
        long_name += std::string(60, static_cast<char>('a' + i)) + ".";
    }
    long_name += "tail";
    b.question(long_name, rr::a);
    for (int i = 0; i < 5000; ++i) {
        b.answer(long_name, 1, rdata::raw(99, {}));
    }
    const auto wire = b.compress().build();
    EXPECT_LT(wire.size(), 65536u);
    const auto start = std::chrono::steady_clock::now();
    const auto m = parse_ok(wire);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(m.answers.size(), 5000u);
    EXPECT_LT(took, std::chrono::seconds{2});
}

TEST(message, huge_counts_in_a_small_message_do_not_allocate_for_them)
{
    const auto wire = dns_builder{}.question("example.com", rr::a).counts_for_test(1, 65535, 65535, 65535).build();
    EXPECT_THAT(parse_error(wire), HasSubstr("answer record 1: missing"));
}

// A message as knotd writes it for an NXDOMAIN (its layout: question, then the zone's
// SOA in the authority section, owner compressed against the question), built here
// rather than captured.
TEST(message, an_nxdomain_as_knotd_writes_it)
{
    const auto wire = dns_builder{}.id(0x4a1f).qr().aa().rcode(dns::rcode::nxdomain)
                          .question("missing.test", rr::a)
                          .authority("test", 3600, rdata::soa("ns.test", "hostmaster.test", 2024010101, 3600, 600,
                                                             604800, 60))
                          .edns(1232)
                          .compress()
                          .build();
    const auto m = parse_ok(wire);
    EXPECT_EQ(dns::rcode_name(m.rcode), "NXDOMAIN");
    EXPECT_TRUE(m.aa);
    ASSERT_EQ(m.authority.size(), 1u);
    EXPECT_EQ(m.authority[0].name, "test");
    EXPECT_EQ(m.authority[0].data_text(), "ns.test hostmaster.test 2024010101 3600 600 604800 60");
    EXPECT_EQ(dns::negative_ttl(m), 60u);
    EXPECT_EQ(dns::records_of(m.additional, "", rr::opt).size(), 1u);
}

} // namespace
