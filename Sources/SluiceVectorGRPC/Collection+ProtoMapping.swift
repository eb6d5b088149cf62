import Foundation
import SluiceProtos
import SluiceVector
import SwiftProtobuf

// Collections between the domain and `sluice.vector.v1`.
//
// Server side, a request the domain cannot even represent (no metric, an unknown metric) is `invalid_argument`
// here; everything the domain can represent is validated by the domain, so both sides give the same messages.
// Client side, an answer the domain cannot represent is `internal`: the server broke the contract.

extension VectorMetric {
    /// The domain metric of a request's metric.
    ///
    /// - Parameter proto: The wire metric.
    /// - Throws: ``VectorError`` `.invalidArgument` for `METRIC_UNSPECIFIED` or a value this build does not know.
    init(proto: Sluice_Vector_V1_Metric) throws {
        switch proto {
        case .cosine: self = .cosine
        case .dot: self = .dot
        case .l2: self = .l2
        case .unspecified:
            throw VectorError(.invalidArgument, "metric is required: METRIC_COSINE, METRIC_DOT or METRIC_L2")
        case .UNRECOGNIZED(let value):
            throw VectorError(.invalidArgument, "metric \(value) is not a known metric")
        }
    }
}

extension Sluice_Vector_V1_Metric {
    init(_ metric: VectorMetric) {
        switch metric {
        case .cosine: self = .cosine
        case .dot: self = .dot
        case .l2: self = .l2
        }
    }
}

extension HNSWParameters {
    init(proto: Sluice_Vector_V1_HnswParams) {
        self.init(m: Int(proto.m), efConstruction: Int(proto.efConstruction), efSearch: Int(proto.efSearch))
    }
}

extension Sluice_Vector_V1_HnswParams {
    init(_ parameters: HNSWParameters) {
        self.init()
        m = Int32(clamping: parameters.m)
        efConstruction = Int32(clamping: parameters.efConstruction)
        efSearch = Int32(clamping: parameters.efSearch)
    }
}

extension CreateCollectionRequest {
    /// Decodes a request; an unset `hnsw` reads as zeros, which the domain fills with its defaults.
    init(proto: Sluice_Vector_V1_CreateCollectionRequest) throws {
        self.init(
            name: proto.name,
            dimension: Int(proto.dimension),
            metric: try VectorMetric(proto: proto.metric),
            hnsw: HNSWParameters(proto: proto.hnsw),
            embeddingVersionTag: proto.embeddingVersionTag,
            ifNotExists: proto.ifNotExists
        )
    }
}

extension Sluice_Vector_V1_CreateCollectionRequest {
    init(_ request: CreateCollectionRequest) {
        self.init()
        name = request.name
        dimension = Int32(clamping: request.dimension)
        metric = Sluice_Vector_V1_Metric(request.metric)
        hnsw = Sluice_Vector_V1_HnswParams(request.hnsw)
        embeddingVersionTag = request.embeddingVersionTag
        ifNotExists = request.ifNotExists
    }
}

extension Sluice_Vector_V1_CollectionInfo {
    /// Encodes every field: `state` is `READY`, `LOADING` or `FAILED`; `sampled_recall` stays unset (not measured yet), and
    /// so does `persistence.snapshot_time` while there is no snapshot.
    init(_ info: CollectionInfo) {
        self.init()
        name = info.descriptor.name
        dimension = Int32(clamping: info.descriptor.dimension)
        metric = Sluice_Vector_V1_Metric(info.descriptor.metric)
        hnsw = Sluice_Vector_V1_HnswParams(info.descriptor.hnsw)
        embeddingVersionTag = info.descriptor.embeddingVersionTag
        count = Int64(info.count)
        deletedCount = Int64(info.deletedCount)
        deletedRatio = info.deletedRatio
        memoryBytes = Int64(info.memoryBytes)
        persistence = Sluice_Vector_V1_PersistenceInfo(info.persistence)
        var stats = Sluice_Vector_V1_QueryStats()
        stats.queries = Int64(info.queries)
        stats.latencyP50Ms = info.latencyP50Milliseconds
        stats.latencyP99Ms = info.latencyP99Milliseconds
        queryStats = stats
        createdAt = Google_Protobuf_Timestamp(date: info.descriptor.createdAt)
        state = info.isReady ? .ready : info.hasFailed ? .failed : .loading
    }
}

extension Sluice_Vector_V1_PersistenceInfo {
    init(_ persistence: PersistenceInfo) {
        self.init()
        durableSequence = Int64(clamping: persistence.durableSequence)
        snapshotSequence = Int64(clamping: persistence.snapshotSequence)
        if let time = persistence.snapshotTime { snapshotTime = Google_Protobuf_Timestamp(date: time) }
        snapshotBytes = Int64(persistence.snapshotBytes)
        walEntries = Int64(persistence.walEntries)
        walBytes = Int64(persistence.walBytes)
    }
}

extension CollectionInfo {
    /// Decodes a server's answer.
    ///
    /// - Throws: ``VectorError`` `.internal` when the server sent no usable metric.
    init(proto: Sluice_Vector_V1_CollectionInfo) throws {
        let metric: VectorMetric
        do {
            metric = try VectorMetric(proto: proto.metric)
        } catch {
            throw VectorError(.internal, "the vector service described collection '\(proto.name)' without a metric")
        }
        let persistence = proto.persistence
        self.init(
            descriptor: CollectionDescriptor(
                name: proto.name,
                dimension: Int(proto.dimension),
                metric: metric,
                hnsw: HNSWParameters(proto: proto.hnsw),
                embeddingVersionTag: proto.embeddingVersionTag,
                createdAt: proto.createdAt.date
            ),
            isReady: proto.state == .ready,
            count: Int(proto.count),
            deletedCount: Int(proto.deletedCount),
            memoryBytes: Int(proto.memoryBytes),
            persistence: PersistenceInfo(
                durableSequence: UInt64(clamping: persistence.durableSequence),
                snapshotSequence: UInt64(clamping: persistence.snapshotSequence),
                snapshotTime: persistence.hasSnapshotTime ? persistence.snapshotTime.date : nil,
                snapshotBytes: Int(persistence.snapshotBytes),
                walEntries: Int(persistence.walEntries),
                walBytes: Int(persistence.walBytes)
            ),
            queries: Int(proto.queryStats.queries),
            latencyP50Milliseconds: proto.queryStats.latencyP50Ms,
            latencyP99Milliseconds: proto.queryStats.latencyP99Ms
        )
        hasFailed = proto.state == .failed
    }
}
