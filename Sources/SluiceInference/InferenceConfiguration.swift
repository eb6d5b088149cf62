/// The inference service's configuration: providers and the public models routed onto them.
///
/// Read from the `providers` and `models` sections of the Sluice configuration file. With neither, the
/// built-in `echo` provider and model are offered, so Sluice works offline.
///
/// Configuration keys:
/// - `providers[]`: see ``ProviderConfiguration``.
/// - `models[].name`: the public model name clients send.
/// - `models[].deployments[]`: `{ "provider": NAME, "model": UPSTREAM_MODEL }`, tried in order; the later ones
///   are fallbacks, used only before the first token reaches the client.
package struct InferenceConfiguration: Sendable, Hashable, Codable {
    /// The configured providers.
    package var providers: [ProviderConfiguration]
    /// The public models.
    package var models: [ModelConfiguration]

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - providers: The configured providers.
    ///   - models: The public models.
    package init(providers: [ProviderConfiguration] = [], models: [ModelConfiguration] = []) {
        self.providers = providers
        self.models = models
    }

    /// The built-in provider name and model name that exist with no configuration.
    package static let echoName = "echo"

    /// The providers with the built-in `echo` added unless configured explicitly.
    package var effectiveProviders: [ProviderConfiguration] {
        if providers.contains(where: { $0.name == Self.echoName }) { return providers }
        return providers + [ProviderConfiguration(name: Self.echoName, kind: .echo)]
    }

    /// The models with the built-in `echo` model added unless a model of that name is configured.
    package var effectiveModels: [ModelConfiguration] {
        if models.contains(where: { $0.name == Self.echoName }) { return models }
        return models + [
            ModelConfiguration(name: Self.echoName, deployments: [.init(provider: Self.echoName, model: Self.echoName)])
        ]
    }

    /// Problems that make this configuration unusable, as messages naming the offending key.
    package var problems: [String] {
        var problems: [String] = []
        var providerNames = Set<String>()
        for (index, provider) in providers.enumerated() {
            if provider.name.isEmpty { problems.append("providers[\(index)].name is empty") }
            if !providerNames.insert(provider.name).inserted {
                problems.append("providers[\(index)].name '\(provider.name)' is used twice")
            }
            problems += provider.problems.map { "providers[\(index)] (\(provider.name)): \($0)" }
        }
        let known = Set(effectiveProviders.map(\.name))
        var modelNames = Set<String>()
        for (index, model) in models.enumerated() {
            if model.name.isEmpty { problems.append("models[\(index)].name is empty") }
            if !modelNames.insert(model.name).inserted {
                problems.append("models[\(index)].name '\(model.name)' is used twice")
            }
            if model.deployments.isEmpty { problems.append("models[\(index)] (\(model.name)) has no deployments") }
            for deployment in model.deployments where !known.contains(deployment.provider) {
                problems.append("models[\(index)] (\(model.name)) names unknown provider '\(deployment.provider)'")
            }
        }
        return problems
    }
}

/// A public model and the deployments that serve it.
package struct ModelConfiguration: Sendable, Hashable, Codable {
    /// The public model name.
    package var name: String
    /// The deployments, tried in order.
    package var deployments: [DeploymentConfiguration]

    /// Creates a model configuration.
    ///
    /// - Parameters:
    ///   - name: The public model name.
    ///   - deployments: The deployments, tried in order.
    package init(name: String, deployments: [DeploymentConfiguration]) {
        self.name = name
        self.deployments = deployments
    }
}

/// A provider and the model name it knows a public model by.
package struct DeploymentConfiguration: Sendable, Hashable, Codable {
    /// The configured provider name.
    package var provider: String
    /// The upstream model name (for Azure OpenAI, the deployment name).
    package var model: String

    /// Creates a deployment.
    ///
    /// - Parameters:
    ///   - provider: The configured provider name.
    ///   - model: The upstream model name.
    package init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }
}
