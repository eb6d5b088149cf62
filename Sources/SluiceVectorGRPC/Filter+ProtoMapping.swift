import SluiceProtos
import SluiceVector

// Filters, queries and delete selectors between the domain and `sluice.vector.v1`.
//
// What the domain cannot represent is `invalid_argument` here: a condition with no `condition` set, a `FieldMatch`
// with no `value`, a `DeleteRequest` with no `selector` (an unknown oneof case reads as unset). The rest (empty keys,
// string lists as match values, ranges without bounds, nesting and size limits) is the domain's ``FilterValidator``'s.

extension VectorFilter {
    /// Decodes a filter.
    ///
    /// - Parameters:
    ///   - proto: The wire filter.
    ///   - path: Where it sits in the request, for error messages.
    init(proto: Sluice_Vector_V1_Filter, at path: String) throws {
        func conditions(_ list: [Sluice_Vector_V1_Condition], _ name: String) throws -> [Condition] {
            try list.enumerated().map { index, condition in
                try Condition(proto: condition, at: "\(path).\(name)[\(index)]")
            }
        }
        self.init(
            must: try conditions(proto.must, "must"),
            should: try conditions(proto.should, "should"),
            mustNot: try conditions(proto.mustNot, "must_not")
        )
    }
}

extension VectorFilter.Condition {
    init(proto: Sluice_Vector_V1_Condition, at path: String) throws {
        switch proto.condition {
        case .match(let match):
            guard match.hasValue else { throw VectorError(.invalidArgument, "\(path).match.value is required") }
            self = .match(key: match.key, value: try PayloadValue(proto: match.value, at: "\(path).match.value"))
        case .anyOf(let anyOf):
            let values = try anyOf.values.enumerated().map { index, value in
                try PayloadValue(proto: value, at: "\(path).any_of.values[\(index)]")
            }
            self = .anyOf(key: anyOf.key, values: values)
        case .range(let range):
            self = .range(
                key: range.key,
                VectorFilter.NumericRange(
                    greaterThan: range.hasGt ? range.gt : nil,
                    greaterThanOrEqual: range.hasGte ? range.gte : nil,
                    lessThan: range.hasLt ? range.lt : nil,
                    lessThanOrEqual: range.hasLte ? range.lte : nil
                )
            )
        case .filter(let nested):
            self = .filter(try VectorFilter(proto: nested, at: "\(path).filter"))
        case nil:
            throw VectorError(.invalidArgument, "\(path) has no condition: set match, any_of, range or filter")
        }
    }
}

extension Sluice_Vector_V1_Filter {
    init(_ filter: VectorFilter) {
        self.init()
        must = filter.must.map(Sluice_Vector_V1_Condition.init)
        should = filter.should.map(Sluice_Vector_V1_Condition.init)
        mustNot = filter.mustNot.map(Sluice_Vector_V1_Condition.init)
    }
}

extension Sluice_Vector_V1_Condition {
    init(_ condition: VectorFilter.Condition) {
        self.init()
        switch condition {
        case .match(let key, let value):
            var match = Sluice_Vector_V1_FieldMatch()
            match.key = key
            match.value = Sluice_Vector_V1_PayloadValue(value)
            self.condition = .match(match)
        case .anyOf(let key, let values):
            var anyOf = Sluice_Vector_V1_AnyOf()
            anyOf.key = key
            anyOf.values = values.map(Sluice_Vector_V1_PayloadValue.init)
            self.condition = .anyOf(anyOf)
        case .range(let key, let bounds):
            var range = Sluice_Vector_V1_Range()
            range.key = key
            if let value = bounds.greaterThan { range.gt = value }
            if let value = bounds.greaterThanOrEqual { range.gte = value }
            if let value = bounds.lessThan { range.lt = value }
            if let value = bounds.lessThanOrEqual { range.lte = value }
            self.condition = .range(range)
        case .filter(let nested):
            self.condition = .filter(Sluice_Vector_V1_Filter(nested))
        }
    }
}

extension VectorQuery {
    /// Decodes a query; unset `ef_search`, `filter` and `score_threshold` mean none.
    init(proto: Sluice_Vector_V1_QueryRequest) throws {
        self.init(
            collection: proto.collection,
            vector: proto.vector,
            topK: Int(proto.topK),
            efSearch: proto.hasEfSearch ? Int(proto.efSearch) : nil,
            filter: proto.hasFilter ? try VectorFilter(proto: proto.filter, at: "filter") : nil,
            withPayload: proto.withPayload,
            withVectors: proto.withVectors,
            scoreThreshold: proto.hasScoreThreshold ? proto.scoreThreshold : nil,
            embeddingVersionTag: proto.embeddingVersionTag
        )
    }
}

extension Sluice_Vector_V1_QueryRequest {
    init(_ query: VectorQuery) {
        self.init()
        collection = query.collection
        vector = query.vector
        topK = Int32(clamping: query.topK)
        if let efSearch = query.efSearch { self.efSearch = Int32(clamping: efSearch) }
        if let filter = query.filter { self.filter = Sluice_Vector_V1_Filter(filter) }
        withPayload = query.withPayload
        withVectors = query.withVectors
        if let threshold = query.scoreThreshold { scoreThreshold = threshold }
        embeddingVersionTag = query.embeddingVersionTag
    }
}

extension DeleteSelector {
    /// Decodes the selector of a delete request.
    ///
    /// - Throws: ``VectorError`` `.invalidArgument` when neither `ids` nor `filter` is set.
    init(proto: Sluice_Vector_V1_DeleteRequest) throws {
        switch proto.selector {
        case .ids(let list): self = .ids(list.ids)
        case .filter(let filter): self = .filter(try VectorFilter(proto: filter, at: "filter"))
        case nil: throw VectorError(.invalidArgument, "selector is required: set ids or filter")
        }
    }
}

extension Sluice_Vector_V1_DeleteRequest {
    init(collection: String, selector: DeleteSelector) {
        self.init()
        self.collection = collection
        switch selector {
        case .ids(let ids):
            var list = Sluice_Vector_V1_IdList()
            list.ids = ids
            self.selector = .ids(list)
        case .filter(let filter):
            self.selector = .filter(Sluice_Vector_V1_Filter(filter))
        }
    }
}
