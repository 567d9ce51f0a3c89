package records

import (
	"strconv"

	"remotion-lambda-iam/lambda/awsjson"
)

// The render table's items, in DynamoDB's JSON protocol. The function keeps
// strings, numbers, lists and maps, and nothing else.
type (
	value struct {
		S *string          `json:"S,omitempty"`
		N *string          `json:"N,omitempty"`
		L []value          `json:"L,omitempty"`
		M map[string]value `json:"M,omitempty"`
	}
	item map[string]value
)

func str(s string) value { return value{S: &s} }

func integer(n int64) value {
	s := strconv.FormatInt(n, 10)
	return value{N: &s}
}

func number(f float64) value {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	return value{N: &s}
}

func stringOf(it item, name string) string {
	if v, ok := it[name]; ok && v.S != nil {
		return *v.S
	}
	return ""
}

// The inputs and outputs of the operations the store uses; the field names
// are DynamoDB's.
type (
	putItemInput struct {
		TableName                 string
		Item                      item
		ConditionExpression       string            `json:",omitempty"`
		ExpressionAttributeNames  map[string]string `json:",omitempty"`
		ExpressionAttributeValues item              `json:",omitempty"`
	}
	keyInput struct { // of GetItem and DeleteItem
		TableName      string
		Key            item
		ConsistentRead bool `json:",omitempty"`
	}
	getItemOutput struct {
		Item item
	}
	updateItemInput struct {
		TableName                 string
		Key                       item
		UpdateExpression          string
		ConditionExpression       string `json:",omitempty"`
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues item
	}
	queryInput struct {
		TableName                 string
		IndexName                 string
		KeyConditionExpression    string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues item
		Limit                     int
		ScanIndexForward          bool
		ExclusiveStartKey         item `json:",omitempty"`
	}
	queryOutput struct {
		Items            []item
		LastEvaluatedKey item
	}
)

// conditionFailed reports whether a write was refused by its condition.
func conditionFailed(err error) bool {
	return awsjson.IsCode(err, "ConditionalCheckFailedException")
}
