import SluiceInference
import Testing

@Suite("Random identifiers")
struct RandomIdentifierTests {
    @Test("uuid() is a lowercase version 7, RFC 9562 variant UUID, different every time")
    func uuids() {
        // When many identifiers are made
        let made = (0..<2000).map { _ in RandomIdentifier.uuid() }

        // Then each has the 8-4-4-4-12 shape in lowercase hex, version 7 and variant 10xx
        for id in made {
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { $0 == "-" || ("0"..."9").contains($0) || ("a"..."f").contains($0) }, "\(id)")
            #expect(groups[2].first == "7", "\(id)")
            #expect(groups[3].first.map { "89ab".contains($0) } == true, "\(id)")
        }
        // And no two are alike, even those made in the same millisecond
        #expect(Set(made).count == made.count)
        // And the random bits after the version cover every digit
        #expect(Set(made.map { $0.dropFirst(15).first! }).count == 16)
        #expect(Set(made.map(\.last!)).count == 16)
    }

    @Test("uuid() begins with the Unix time in milliseconds, so ids sort by when they were made")
    func timeOrdered() {
        // Given two instants a millisecond apart, and the clock now
        let earlier = RandomIdentifier.uuid(milliseconds: 0x019A_A6F0_3C2E)
        let later = RandomIdentifier.uuid(milliseconds: 0x019A_A6F0_3C2F)
        let before = RandomIdentifier.unixMilliseconds()
        let current = RandomIdentifier.uuid()
        let after = RandomIdentifier.unixMilliseconds()

        // Then the time is the first 48 bits, and later ids sort after earlier ones
        #expect(earlier.hasPrefix("019aa6f0-3c2e-7"))
        #expect(later.hasPrefix("019aa6f0-3c2f-7"))
        #expect(earlier < later)
        let stamp = UInt64(current.prefix(8) + current.dropFirst(9).prefix(4), radix: 16)!
        #expect((before...after).contains(stamp))
        // A 2020s clock: 2023-11-14 ≤ now < 2100
        #expect(stamp > 1_700_000_000_000 && stamp < 4_102_444_800_000)
    }

    @Test("hex() is 32 lowercase hex digits, different every time, and every digit appears first and last")
    func hexes() {
        // When many identifiers are made
        let made = (0..<2000).map { _ in RandomIdentifier.hex() }

        // Then each is 32 lowercase hex digits, none repeats, and every digit shows up at both ends
        for id in made {
            #expect(id.count == 32 && id.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }, "\(id)")
        }
        #expect(Set(made).count == made.count)
        #expect(Set(made.joined()).count == 16)
        #expect(Set(made.map(\.first!)).count == 16, "the first digit comes from the top bits too")
        #expect(Set(made.map(\.last!)).count == 16, "the last digit comes from the bottom bits too")
    }

    @Test("identifiers made on many threads at once are all different")
    func concurrent() async {
        // When eight tasks make 1,000 identifiers each, drawing on the shared pool together
        let made = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1000).map { _ in RandomIdentifier.uuid() } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }

        // Then none repeats
        #expect(made.count == 8000)
        #expect(Set(made).count == made.count)
    }
}
