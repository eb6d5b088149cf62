/// Parameters of an HNSW graph.
///
/// `m` and `efConstruction` are fixed when a collection is created; `efSearch` is the default candidate list size of
/// a query, which a query may override.
package struct HNSWParameters: Sendable, Hashable, Codable {
    /// Maximum links per node on the upper layers; layer 0 allows twice as many. Default 16.
    package var m: Int
    /// Candidate list size while inserting. Default 200.
    package var efConstruction: Int
    /// Default candidate list size while searching. Default 64.
    package var efSearch: Int

    /// The defaults: 16 / 200 / 64.
    package static let defaults = HNSWParameters(m: 16, efConstruction: 200, efSearch: 64)

    /// The accepted range of `m`.
    package static let mRange = 2...128
    /// The accepted range of `efConstruction` and `efSearch`.
    package static let efRange = 1...4096

    /// Creates parameters.
    ///
    /// - Parameters:
    ///   - m: Maximum links per node on the upper layers.
    ///   - efConstruction: Candidate list size while inserting.
    ///   - efSearch: Default candidate list size while searching.
    package init(m: Int, efConstruction: Int, efSearch: Int) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
    }

    enum CodingKeys: String, CodingKey {
        case m
        case efConstruction = "ef_construction"
        case efSearch = "ef_search"
    }

    /// The problems with these parameters, empty when they are valid.
    package var problems: [String] {
        var problems: [String] = []
        if !Self.mRange.contains(m) { problems.append("m must be in \(Self.mRange), got \(m)") }
        if !Self.efRange.contains(efConstruction) {
            problems.append("ef_construction must be in \(Self.efRange), got \(efConstruction)")
        }
        if !Self.efRange.contains(efSearch) { problems.append("ef_search must be in \(Self.efRange), got \(efSearch)") }
        return problems
    }
}
