package provider

import (
	"reflect"
	"testing"
)

// Every field of the shared task model is in each resource model that uses it, with the same
// tfsdk tag and type: sharedTask and setTask move them by tag.
func TestTaskModelFields(t *testing.T) {
	for _, model := range []any{serviceModel{}} {
		mt := reflect.TypeOf(model)
		byTag := map[string]reflect.Type{}
		for i := range mt.NumField() {
			byTag[mt.Field(i).Tag.Get("tfsdk")] = mt.Field(i).Type
		}
		tt := reflect.TypeOf(taskModel{})
		for i := range tt.NumField() {
			f := tt.Field(i)
			if got, ok := byTag[f.Tag.Get("tfsdk")]; !ok || got != f.Type {
				t.Errorf("%s: field %q is %v, want %v", mt.Name(), f.Tag.Get("tfsdk"), got, f.Type)
			}
		}
	}
}

// The shared part goes into a model and comes out the same.
func TestTaskModelCopy(t *testing.T) {
	m := fullServiceModel()
	var into serviceModel
	setTask(&into, sharedTask(&m))
	if !reflect.DeepEqual(sharedTask(&into), sharedTask(&m)) || !reflect.DeepEqual(into.Mounts, m.Mounts) || into.Image != m.Image {
		t.Errorf("the task attributes changed on their way through the model")
	}
	if !into.Name.IsNull() || into.Replicas != (wholeValue{}) {
		t.Errorf("setTask set attributes that are not the task's")
	}
}
