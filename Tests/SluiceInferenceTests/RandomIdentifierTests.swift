import SluiceInference
import Testing

@Suite("Random identifiers")
struct RandomIdentifierTests {
    @Test("uuid() is a lowercase version 4, RFC 9562 variant UUID, different every time")
    func uuids() {
        // When many identifiers are made
        let made = (0..<2000).map { _ in RandomIdentifier.uuid() }

        // Then each has the 8-4-4-4-12 shape in lowercase hex, version 4 and variant 10xx
        for id in made {
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { $0 == "-" || ("0"..."9").contains($0) || ("a"..."f").contains($0) }, "\(id)")
            #expect(groups[2].first == "4", "\(id)")
            #expect(groups[3].first.map { "89ab".contains($0) } == true, "\(id)")
        }
        // And no two are alike
        #expect(Set(made).count == made.count)
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
}
