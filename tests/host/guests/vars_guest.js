// A componentize-js guest of fermyon:spin/variables@2.0.0 and wasi:config/store, the same
// world as vars_guest.c (vars_guest.wit), importing Spin's WIT interfaces directly. An
// import's error arrives as a thrown value with the variant as its payload; throwing it on
// answers the export's err with the same variant.
import { get as variablesGet } from 'fermyon:spin/variables@2.0.0';
import { get as configGet, getAll as configGetAll } from 'wasi:config/store@0.2.0-draft-2024-09-27';

export const spinVars = {
  get(name) {
    return variablesGet(name);
  },
};

export const config = {
  get(key) {
    return configGet(key);
  },
  getAll() {
    return configGetAll();
  },
};
