// Labels of the requester's page (/requests) for choosing a trip's origin and destination
// from the named places, in Chinese and English (the same keys in both); place kinds as words.

import { addLabels } from "./i18n.js";

addLabels({
  zh: {
    "requests.place.search": "搜索地点：名称或地址",
    "requests.place.none": "没有匹配的地点，可直接填写地址并在地图上点选",
    "requests.address": "地址",
    "requests.lat": "纬度",
    "requests.lon": "经度",
    "requests.pickMap": "从地点列表选择出发地和目的地，或在地图上点选：先出发地，后目的地",
    "requests.pointsMissing": "请从地点列表选择出发地和目的地，或在地图上点选、填写坐标",
    "requests.coordsRange": "{end}：坐标超出范围（纬度 -90 至 90，经度 -180 至 180）",
    "pk.office": "办公地点",
    "pk.depot": "车库",
    "pk.site": "场所",
    "pk.county_seat": "县（区）政府驻地",
    "pk.destination": "常用目的地",
  },
  en: {
    "requests.place.search": "Search places: name or address",
    "requests.place.none": "No place matches: type the address and click the map instead",
    "requests.address": "Address",
    "requests.lat": "Latitude",
    "requests.lon": "Longitude",
    "requests.pickMap": "Choose the origin and the destination from the places, or click the map: first the origin, then the destination",
    "requests.pointsMissing": "Choose the origin and the destination from the places, or click them on the map or type their coordinates",
    "requests.coordsRange": "{end}: coordinates out of range (latitude -90 to 90, longitude -180 to 180)",
    "pk.office": "Office",
    "pk.depot": "Depot",
    "pk.site": "Site",
    "pk.county_seat": "County seat",
    "pk.destination": "Common destination",
  },
});
