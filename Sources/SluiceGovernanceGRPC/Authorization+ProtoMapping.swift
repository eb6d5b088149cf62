import SluiceGovernance
import SluiceProtos

// Authorization and usage records between the domain and `sluice.governance.v1`.
//
// Model allow-lists: the domain tells "every model" (`nil`) from "no model" (`[]`); the proto's empty list means every
// model. So `[]` travels as `[""]`, a list that names no real model (governance refuses empty model names), and
// `[""]` reads back as `[]`.

enum AllowedModels {
    static func encode(_ models: [String]?) -> [String] {
        guard let models else { return [] }
        return models.isEmpty ? [""] : models
    }

    static func decode(_ models: [String]) -> [String]? {
        if models.isEmpty { return nil }
        return models == [""] ? [] : models
    }
}

extension Sluice_Governance_V1_Role {
    /// Encodes a domain role: `admin` administers everything, so it is the platform admin.
    init(_ role: Role) {
        switch role {
        case .admin: self = .platformAdmin
        case .member: self = .user
        }
    }

    /// The domain role; `nil` for roles the domain does not have (auditor, tenant admin).
    var domainValue: Role? {
        switch self {
        case .platformAdmin: .admin
        case .user: .member
        case .auditor, .tenantAdmin, .unspecified, .UNRECOGNIZED: nil
        }
    }
}

extension Sluice_Governance_V1_Principal {
    init(_ principal: Principal) {
        self.init()
        tenantID = principal.tenantID
        tenantName = principal.tenantName
        keyID = principal.keyID
        projectID = principal.projectID ?? ""
        roles = principal.roles.map(Sluice_Governance_V1_Role.init)
        credentialKind = .apiKey
        subject = "key:\(principal.keyID)"
    }
}

extension Principal {
    init(proto: Sluice_Governance_V1_Principal) {
        self.init(
            tenantID: proto.tenantID,
            tenantName: proto.tenantName,
            keyID: proto.keyID,
            roles: proto.roles.compactMap(\.domainValue),
            projectID: proto.projectID.isEmpty ? nil : proto.projectID
        )
    }
}

extension Sluice_Governance_V1_Operation {
    /// The nearest v1 operation; `unspecified` when there is none (the exact one travels as metadata).
    init(_ operation: AuthorizationRequest.Operation) {
        switch operation {
        case .chat: self = .chat
        case .listModels: self = .listModels
        case .admin: self = .adminWrite
        default: self = .unspecified
        }
    }

    /// The domain operation, for callers that do not send the exact one.
    var domainValue: AuthorizationRequest.Operation? {
        switch self {
        case .chat: .chat
        case .listModels: .listModels
        case .adminRead, .adminWrite: .admin
        case .embed: AuthorizationRequest.Operation(rawValue: "embed")
        case .ragQuery: AuthorizationRequest.Operation(rawValue: "rag.query")
        case .ragWrite: AuthorizationRequest.Operation(rawValue: "rag.write")
        case .unspecified, .UNRECOGNIZED: nil
        }
    }
}

extension Sluice_Governance_V1_AuthorizeRequest {
    init(_ request: AuthorizationRequest) {
        self.init()
        credential = request.credential
        operation = Sluice_Governance_V1_Operation(request.operation)
        model = request.model ?? ""
        requestID = request.requestID
        route = request.route ?? ""
        estimatedPromptTokens = Int64(request.promptTokens ?? 0)
        if let maxTokens = request.maxTokens { self.maxTokens = Int64(maxTokens) }
    }
}

extension Sluice_Governance_V1_AuthorizeResponse {
    /// An allowed decision.
    init(_ authorization: Authorization) {
        self.init()
        decision = .allowed
        principal = Sluice_Governance_V1_Principal(authorization.principal)
        allowedModels = AllowedModels.encode(authorization.allowedModels)
        policyAllowLists = authorization.policyAllowLists.map { list in
            var models = Sluice_Governance_V1_ModelList()
            models.models = list
            return models
        }
        if authorization.requestLimit != nil || authorization.tokenLimit != nil {
            rateLimit = Sluice_Governance_V1_RateLimitInfo(
                requests: authorization.requestLimit,
                tokens: authorization.tokenLimit
            )
        }
        if let reservation = authorization.reservation {
            reservationID = reservation.id
            reservedTokens = reservation.tokens
            reservedMicros = reservation.micros
            reservedCompletionTokens = reservation.completionTokens
        }
    }

    /// A denied decision, when the error is a denial.
    init?(denial error: GovernanceError) {
        let reason: Sluice_Governance_V1_DenialReason
        switch error.code {
        case .unauthenticated: reason = .unauthenticated
        case .revoked: reason = .revoked
        case .modelNotAllowed: reason = .modelNotAllowed
        case .permissionDenied: reason = .permissionDenied
        case .routeNotAllowed: reason = .routeNotAllowed
        case .rateLimited: reason = .rateLimited
        case .budgetExhausted: reason = .budgetExhausted
        default: return nil
        }
        self.init()
        decision = .denied
        self.reason = reason
        message = error.message
        if error.requestLimit != nil || error.tokenLimit != nil || error.retryAfter != nil {
            rateLimit = Sluice_Governance_V1_RateLimitInfo(requests: error.requestLimit, tokens: error.tokenLimit)
            rateLimit.retryAfterMs = error.retryAfter.map { Int64($0 / .milliseconds(1)) + 1 } ?? 0
        }
    }
}

extension Authorization {
    init(proto: Sluice_Governance_V1_AuthorizeResponse) {
        self.init(
            principal: Principal(proto: proto.principal),
            allowedModels: AllowedModels.decode(proto.allowedModels)
        )
        policyAllowLists = proto.policyAllowLists.map(\.models)
        if proto.hasRateLimit {
            (requestLimit, tokenLimit) = proto.rateLimit.states
        }
        if !proto.reservationID.isEmpty {
            reservation = Reservation(
                id: proto.reservationID,
                tokens: proto.reservedTokens,
                micros: proto.reservedMicros,
                completionTokens: proto.reservedCompletionTokens
            )
        }
    }
}

extension Sluice_Governance_V1_RateLimitInfo {
    /// Encodes the states of the request and token limits.
    init(requests: LimitState?, tokens: LimitState?) {
        self.init()
        if let requests {
            limitRequests = requests.limit
            remainingRequests = requests.remaining
            resetRequestsMs = Int64((requests.reset / .milliseconds(1)).rounded(.up))
        }
        if let tokens {
            limitTokens = tokens.limit
            remainingTokens = tokens.remaining
            resetTokensMs = Int64((tokens.reset / .milliseconds(1)).rounded(.up))
        }
    }

    /// The states of the request and token limits; `nil` for a limit that is not set.
    var states: (requests: LimitState?, tokens: LimitState?) {
        (
            limitRequests > 0
                ? LimitState(limit: limitRequests, remaining: remainingRequests, reset: .milliseconds(resetRequestsMs))
                : nil,
            limitTokens > 0
                ? LimitState(limit: limitTokens, remaining: remainingTokens, reset: .milliseconds(resetTokensMs)) : nil
        )
    }
}

extension GovernanceError {
    /// The error a denied decision stands for.
    init(denial response: Sluice_Governance_V1_AuthorizeResponse) {
        let code: Code =
            switch response.reason {
            case .unauthenticated, .expired: .unauthenticated
            case .revoked: .revoked
            case .modelNotAllowed: .modelNotAllowed
            case .routeNotAllowed: .routeNotAllowed
            case .rateLimited: .rateLimited
            case .budgetExhausted: .budgetExhausted
            default: .permissionDenied
            }
        self.init(code, response.message.isEmpty ? "The request was denied (\(response.reason))" : response.message)
        if code == .rateLimited || code == .budgetExhausted, response.hasRateLimit {
            retryAfter = response.rateLimit.retryAfterMs > 0 ? .milliseconds(response.rateLimit.retryAfterMs) : nil
            (requestLimit, tokenLimit) = response.rateLimit.states
        }
    }
}

extension Sluice_Governance_V1_UsageRecord {
    /// Encodes a usage record; the principal's tenant name and roles travel as metadata.
    init(_ record: UsageRecord) {
        self.init()
        requestID = record.requestID
        tenantID = record.principal.tenantID
        keyID = record.principal.keyID
        projectID = record.principal.projectID ?? ""
        model = record.model
        provider = record.provider
        upstreamModel = record.upstreamModel
        promptTokens = Int64(record.promptTokens)
        completionTokens = Int64(record.completionTokens)
        estimated = record.isEstimated
        cachedPromptTokens = Int64(record.cachedPromptTokens ?? 0)
        latencyMs = Int64(record.latencyMilliseconds)
        outcome = Sluice_Governance_V1_Outcome(domainValue: record.outcome)
        errorType = record.outcome == UsageRecord.successOutcome ? "" : record.outcome
    }
}

extension UsageRecord {
    /// The outcome text of a successful call.
    static let successOutcome = "ok"

    /// Decodes a usage record.
    ///
    /// - Parameters:
    ///   - proto: The record.
    ///   - tenantName: The principal's tenant name, from metadata.
    ///   - roles: The principal's roles, from metadata.
    init(proto: Sluice_Governance_V1_UsageRecord, tenantName: String, roles: [Role]) {
        let outcome: String =
            if !proto.errorType.isEmpty {
                proto.errorType
            } else {
                switch proto.outcome {
                case .success, .unspecified: Self.successOutcome
                case .cancelled: "cancelled"
                case .clientError: "invalid_request"
                case .upstreamError: "upstream_unavailable"
                case .timeout: "upstream_timeout"
                case .internalError, .UNRECOGNIZED: "internal"
                case .blocked: "blocked"
                }
            }
        self.init(
            requestID: proto.requestID,
            principal: Principal(
                tenantID: proto.tenantID,
                tenantName: tenantName,
                keyID: proto.keyID,
                roles: roles,
                projectID: proto.projectID.isEmpty ? nil : proto.projectID
            ),
            model: proto.model,
            provider: proto.provider,
            upstreamModel: proto.upstreamModel,
            promptTokens: Int(proto.promptTokens),
            completionTokens: Int(proto.completionTokens),
            isEstimated: proto.estimated,
            latencyMilliseconds: Int(proto.latencyMs),
            outcome: outcome,
            cachedPromptTokens: proto.cachedPromptTokens > 0 ? Int(clamping: proto.cachedPromptTokens) : nil
        )
    }
}

extension Sluice_Governance_V1_Outcome {
    /// The v1 outcome class of a domain outcome (`ok` or an error code).
    init(domainValue outcome: String) {
        switch outcome {
        case UsageRecord.successOutcome: self = .success
        case "cancelled": self = .cancelled
        case "invalid_request", "model_not_found", "unauthenticated", "revoked", "model_not_allowed",
            "permission_denied",
            "route_not_allowed", "invalid_argument", "not_found":
            self = .clientError
        case "upstream_timeout": self = .timeout
        case "internal": self = .internalError
        default: self = .upstreamError
        }
    }
}
