package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"remotion-lambda-iam/config"
	"remotion-lambda-iam/contract/renderevent"
)

// webhooks is what the function needs to receive Remotion's completion
// webhooks and turn them into events.
type webhooks struct {
	secret awssecretsmanager.ISecret
	bus    awsevents.IEventBus
}

// newWebhooks creates the secret that signs Remotion's webhooks, generated
// at deploy time so that no value is ever in the template, and lets the role
// read it and put events on the bus, nothing more.
func newWebhooks(scope constructs.Construct, cfg config.Records, role awsiam.IRole) webhooks {
	secret := awssecretsmanager.NewSecret(scope, jsii.String("WebhookSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Signs Remotion's completion webhooks (HMAC-SHA512); see the README to rotate it"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
	accept(secret, finding{"AwsSolutions-SMG4", "",
		"Rotating the webhook secret drops the webhooks of renders in flight (they carry the old value), so it is rotated by hand, as the README describes, not on a schedule."})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*secret.SecretArn()),
	}))
	name := cfg.EventBusName
	if name == "" {
		name = renderevent.DefaultBus
	}
	bus := awsevents.EventBus_FromEventBusName(scope, jsii.String("EventBus"), jsii.String(name))
	bus.GrantPutEventsTo(role, nil)
	return webhooks{secret: secret, bus: bus}
}

// newRenderEmails sends address an email for every render outcome on bus:
// an SNS topic, its email subscription, and a rule that writes the message.
// It returns the topic, for the alarms to notify too.
func newRenderEmails(scope constructs.Construct, bus awsevents.IEventBus, address string) awssns.ITopic {
	topic := awssns.NewTopic(scope, jsii.String("RenderNotifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Remotion renders"),
		EnforceSSL:  jsii.Bool(true),
	})
	accept(topic, finding{"AwsSolutions-SNS2", "",
		"The topic carries render outcomes (composition, state, output link, cost), not secrets; EventBridge cannot publish to a topic encrypted with the AWS managed key, and a customer key would cost more than the data warrants."})
	topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(address), nil))
	field := func(path string) string { return *awsevents.EventField_FromPath(jsii.String(path)) }
	rule := awsevents.NewRule(scope, jsii.String("RenderOutcomeEmails"), &awsevents.RuleProps{
		Description:  jsii.String("Emails the outcome of every render"),
		EventBus:     bus,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(renderevent.Source)},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(topic, &awseventstargets.SnsTopicProps{
		Message: awsevents.RuleTargetInput_FromText(jsii.String(
			field("$.detail-type") + ": " + field("$.detail.composition") + " (render " + field("$.detail.renderId") + ")\n" +
				"Output: " + field("$.detail.outputFile") + "\n" +
				"Cost: " + field("$.detail.costs.displayCost") + "\n" +
				"Errors: " + field("$.detail.errors") + "\n" +
				"Started by " + field("$.detail.requestedBy") + " at " + field("$.detail.createdAt"))),
	}))
	return topic
}

// webhookThrottle is the receiver's own limit, below the stage's, so that a
// flood of forged webhooks cannot spend the API's budget.
func webhookThrottle(cfg config.API) map[string]any {
	return map[string]any{
		"ThrottlingRateLimit":  float64(cfg.ThrottleRateLimit) / 2,
		"ThrottlingBurstLimit": max(1, cfg.ThrottleBurstLimit/2),
	}
}
