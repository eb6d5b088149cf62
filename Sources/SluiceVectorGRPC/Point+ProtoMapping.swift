import SluiceProtos
import SluiceVector

// Points, payloads and query results between the domain and `sluice.vector.v1`.
//
// A `PayloadValue` whose `kind` is unset (or set to a case this build does not know, which reads as unset) cannot be
// stored or compared, so a request carrying one is `invalid_argument`, naming where it was.

extension PayloadValue {
    /// Decodes a payload value.
    ///
    /// - Parameters:
    ///   - proto: The wire value.
    ///   - path: Where it sits in the request, for the error message.
    /// - Throws: ``VectorError`` `.invalidArgument` when no kind is set.
    init(proto: Sluice_Vector_V1_PayloadValue, at path: @autoclosure () -> String) throws {
        switch proto.kind {
        case .stringValue(let value): self = .string(value)
        case .intValue(let value): self = .int(value)
        case .doubleValue(let value): self = .double(value)
        case .boolValue(let value): self = .bool(value)
        case .stringList(let list): self = .stringList(list.values)
        case nil:
            throw VectorError(
                .invalidArgument,
                "\(path()) has no value: set one of string_value, int_value, double_value, bool_value, string_list"
            )
        }
    }
}

extension Sluice_Vector_V1_PayloadValue {
    init(_ value: PayloadValue) {
        self.init()
        switch value {
        case .string(let string): kind = .stringValue(string)
        case .int(let int): kind = .intValue(int)
        case .double(let double): kind = .doubleValue(double)
        case .bool(let bool): kind = .boolValue(bool)
        case .stringList(let values):
            var list = Sluice_Vector_V1_StringList()
            list.values = values
            kind = .stringList(list)
        }
    }
}

enum PayloadMapping {
    /// Decodes a payload map.
    ///
    /// - Parameters:
    ///   - proto: The wire map.
    ///   - path: Where it sits in the request, for error messages.
    static func decode(
        _ proto: [String: Sluice_Vector_V1_PayloadValue],
        at path: @autoclosure () -> String
    ) throws -> Payload {
        var payload = Payload(minimumCapacity: proto.count)
        for (key, value) in proto {
            payload[key] = try PayloadValue(proto: value, at: "\(path())['\(key.prefix(40))']")
        }
        return payload
    }

    /// Encodes a payload map.
    static func encode(_ payload: Payload) -> [String: Sluice_Vector_V1_PayloadValue] {
        payload.mapValues(Sluice_Vector_V1_PayloadValue.init)
    }
}

extension VectorPoint {
    /// Decodes a point.
    ///
    /// - Parameters:
    ///   - proto: The wire point.
    ///   - path: Where it sits in the request, for error messages.
    init(proto: Sluice_Vector_V1_Point, at path: @autoclosure () -> String) throws {
        self.init(
            id: proto.id,
            vector: proto.vector,
            payload: try PayloadMapping.decode(proto.payload, at: "\(path()).payload")
        )
    }
}

extension Sluice_Vector_V1_Point {
    init(_ point: VectorPoint) {
        self.init()
        id = point.id
        vector = point.vector
        payload = PayloadMapping.encode(point.payload)
    }
}

extension Sluice_Vector_V1_ScoredPoint {
    init(_ point: ScoredPoint) {
        self.init()
        id = point.id
        score = point.score
        payload = PayloadMapping.encode(point.payload)
        vector = point.vector
    }
}

extension ScoredPoint {
    /// Decodes a server's result.
    ///
    /// - Throws: ``VectorError`` `.internal` when a payload value has no kind.
    init(proto: Sluice_Vector_V1_ScoredPoint) throws {
        self.init(
            id: proto.id,
            score: proto.score,
            payload: try PayloadMapping.decodeAnswer(proto.payload),
            vector: proto.vector
        )
    }
}

extension PayloadMapping {
    /// Decodes a payload a server sent; a value without a kind means the server broke the contract.
    static func decodeAnswer(_ proto: [String: Sluice_Vector_V1_PayloadValue]) throws -> Payload {
        do {
            return try decode(proto, at: "payload")
        } catch let error as VectorError {
            throw VectorError(.internal, "the vector service answered with a malformed payload: \(error.message)")
        }
    }
}
